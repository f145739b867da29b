"""The console's pure parts: working days left, the declaration form's assembly and error placement,
the SVG pictures; and its sign-in, session and CSRF checks on the real app (no service is called)."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from contracts.forms import FormDefinition, FormField
from contracts.http import FieldError
from greenfab.auth import Principal, issue_token
from services.console import charts, days, forms
from services.console.app import build_app
from services.console.client import Services
from services.console.settings import ConsoleSettings

SECRET = secrets.token_urlsafe(48)


def test_working_days_left_skip_weekends_and_the_national_day_holiday() -> None:
    # From 2026-09-30: 1–7 October are holidays; 8 and 9 October are worked, and Saturday 10 October too (调休).
    left = days.remaining(date(2026, 10, 10), date(2026, 9, 30))
    assert (left.working_days, left.overdue, left.approximate) == (3, False, False)
    assert left.text_zh == "剩余 3 个工作日"
    late = days.remaining(date(2026, 9, 30), date(2026, 10, 11))
    assert late.overdue and late.working_days == -3 and late.text_zh == "已逾期 3 个工作日"
    assert days.remaining(date(2026, 12, 3), date(2026, 12, 3)).text_zh == "今日到期"
    beyond = days.remaining(date(2031, 1, 10), date(2031, 1, 3))
    assert beyond.approximate and beyond.text_zh.startswith("剩余 约")


def test_the_due_day_is_the_day_before_beijing_midnight() -> None:
    from datetime import UTC, datetime

    assert days.due_day(datetime(2026, 12, 9, 16, 0, tzinfo=UTC)) == date(2026, 12, 9)


DEFINITION = FormDefinition(
    scheme="grading",
    fields=[
        FormField(path="统一社会信用代码", sections=[], label="统一社会信用代码", type="header", required=True,
                  inputs=["uscc"], help_zh="必填"),
        FormField(path="管理体系", sections=[], label="管理体系", type="checklist", required=False,
                  inputs=["management_boxes"], help_zh="", options=["环境管理体系认证", "ESG报告"]),
        FormField(path="评价指标/管理体系/GF-2-1 建立满足GB/T 19001的质量管理体系",
                  sections=["评价指标", "管理体系"], label="GF-2-1 建立满足GB/T 19001的质量管理体系", type="tick",
                  required=False, inputs=["qms_established"], help_zh="是 / 否"),
        FormField(path="指标/碳排放弹性系数/碳排放量", sections=["指标", "碳排放弹性系数"], label="碳排放量",
                  type="base_final", required=False, inputs=["carbon_base", "carbon_final"], help_zh=""),
        FormField(path="绿色工厂", sections=[], label="绿色工厂", type="choice", required=False,
                  inputs=["green_factory_level"], help_zh="", options=["国家级", "市级"], ticked=True),
    ],
    evidence=[],
)  # fmt: skip


def test_the_form_nests_as_the_paper_form_and_keeps_what_was_typed() -> None:
    posted = {
        "统一社会信用代码": " 91110108MA01XK3T2Q ",
        "管理体系": ["ESG报告"],
        "评价指标/管理体系/GF-2-1 建立满足GB/T 19001的质量管理体系": "是",
        "指标/碳排放弹性系数/碳排放量": "2021年: 12400; 2024年：12150",
        "绿色工厂": "市级",
    }
    assert forms.assemble(DEFINITION, posted) == {
        "统一社会信用代码": "91110108MA01XK3T2Q",
        "管理体系": ["☑ESG报告"],
        "评价指标": {"管理体系": {"GF-2-1 建立满足GB/T 19001的质量管理体系": "是"}},
        "指标": {"碳排放弹性系数": {"碳排放量": {"2021年": "12400", "2024年": "12150"}}},
        "绿色工厂": "☑市级",
    }
    assert forms.assemble(DEFINITION, {"管理体系": [], "绿色工厂": "  "}) == {}


def test_each_intake_problem_lands_beside_the_field_it_names() -> None:
    def err(path: str, zh: str) -> FieldError:
        return FieldError(path=path, code="x", message_zh=zh, message_en="x")

    placed, general = forms.errors_by_field(DEFINITION, [
        err("$.评价指标.管理体系.GF-2-1 建立满足GB/T 19001的质量管理体系", "应为是或否"),
        err("$.uscc", "统一社会信用代码无效"),
        err("$.data.carbon_final", "缺少第三年数值"),
        err("$.管理体系.2", "不是本项的勾选项"),
        err("$.unknown", "不认识的栏目"),
    ])  # fmt: skip
    assert placed == {
        "评价指标/管理体系/GF-2-1 建立满足GB/T 19001的质量管理体系": ["应为是或否"],
        "统一社会信用代码": ["统一社会信用代码无效"],
        "指标/碳排放弹性系数/碳排放量": ["缺少第三年数值"],
        "管理体系": ["不是本项的勾选项"],
    }
    assert general == ["不认识的栏目"]
    assert forms.field_id(DEFINITION.fields[0]) == forms.field_id(DEFINITION.fields[0])
    assert len({forms.field_id(f) for f in DEFINITION.fields}) == len(DEFINITION.fields)


def test_pictures_have_a_title_and_description_and_escape_their_text() -> None:
    svg = str(charts.bars([charts.Bar("<script>", Decimal("3"), Decimal("5"))], "得分", "s"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert re.search(r'role="img" aria-labelledby="s-t s-d"', svg) and '<title id="s-t">得分</title>' in svg
    timeline = str(charts.timeline([charts.Mark(date(2026, 1, 5), "step", "待区级推荐"),
                                    charts.Mark(date(2026, 2, 4), "deadline", "期限")], date(2026, 3, 1)))  # fmt: skip
    assert timeline.count("<circle") == 1 and "#b3261e" in timeline, "a missed deadline is red"
    assert "今天" in timeline
    empty = str(charts.stacked([], [], {}, "各区", "l"))
    assert "暂无数据" in empty


def client(**settings: object) -> TestClient:
    config = ConsoleSettings(auth_secret=SECRET, signin="dev", cookie_secure=False, **settings)  # type: ignore[arg-type]
    return TestClient(build_app(config, Services(config)), follow_redirects=False)


def test_signing_in_needs_the_forms_csrf_token_and_sets_an_http_only_session() -> None:
    with client() as c:
        page = c.get("/signin?next=/tasks")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert page.status_code == 200 and token
        forged = c.post("/signin", data={"role": "bureau", "next": "/tasks"})
        assert forged.status_code == 403 and "表单已失效" in forged.text and "greenfab_session" not in c.cookies
        other_site = c.post("/signin", data={"role": "bureau", "csrftoken": token[1]},
                            headers={"Origin": "https://evil.example"})  # fmt: skip
        assert other_site.status_code == 403
        ok = c.post("/signin", data={"role": "bureau", "next": "/tasks", "csrftoken": token[1]})
        assert ok.status_code == 303 and ok.headers["location"] == "/tasks"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")


def test_sign_in_refuses_bad_scopes_beside_their_field_and_never_redirects_off_site() -> None:
    with client() as c:
        token = re.search(r'name="csrftoken" value="([^"]+)"', c.get("/signin").text)
        assert token
        bad = c.post("/signin", data={"role": "enterprise", "scope_uscc": "91110108MA01XK3T2X", "csrftoken": token[1]})
        assert (
            bad.status_code == 422 and "统一社会信用代码无效" in bad.text and 'value="91110108MA01XK3T2X"' in bad.text
        )
        ok = c.post("/signin", data={"role": "bureau", "next": "//evil.example/x", "csrftoken": token[1]})
        assert ok.headers["location"] == "/"


def test_an_expired_session_is_sent_to_sign_in_and_back() -> None:
    expired = issue_token(SECRET, Principal(role="bureau", subject="li"), ttl=timedelta(seconds=-1))
    with client() as c:
        c.cookies.set("greenfab_session", expired)
        r = c.get("/tasks?kind=review")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Ftasks%3Fkind%3Dreview&expired=1"


def test_sign_in_is_off_unless_configured() -> None:
    config = ConsoleSettings(auth_secret=SECRET)
    with TestClient(build_app(config, Services(config))) as c:
        assert c.get("/signin").status_code == 503


async def test_list_calls_follow_cursor_pages_and_accept_plain_lists() -> None:
    """The client is ready for cursor paging: pages are followed until the limit or the last page."""
    import httpx

    from services.console.client import ApiError

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/v1/inbox":
            return httpx.Response(200, json=[{"n": 1}])
        if request.url.path == "/v1/units/x":
            return httpx.Response(404, json={"title": "未找到该单位 / Not found", "status": 404, "errors": []})
        cursor = request.url.params.get("cursor")
        page = {None: ({"items": [{"n": 1}, {"n": 2}], "next_cursor": "b"}),
                "b": ({"items": [{"n": 3}], "next_cursor": None})}[cursor]  # fmt: skip
        return httpx.Response(200, json=page)

    config = ConsoleSettings(auth_secret=SECRET)
    api = Services(config, transport=httpx.MockTransport(answer))
    assert [r["n"] for r in await api.collect("workflow", "/v1/tasks", "t")] == [1, 2, 3]
    assert "cursor=b" in seen[-1] and "Authorization" not in seen[-1]
    assert await api.collect("notify", "/v1/inbox", "t") == [{"n": 1}]
    assert [r["n"] for r in await api.collect("workflow", "/v1/tasks", "t", limit=2)] == [1, 2]
    try:
        await api.unit("t", "x")
    except ApiError as exc:
        assert exc.status == 404 and exc.title_zh == "未找到该单位" and exc.messages_zh() == ["未找到该单位"]
    else:
        raise AssertionError("a 404 is an ApiError")
    await api.close()


def test_the_public_grades_page_asks_one_filtered_page_and_links_the_next() -> None:
    """The page passes its filters and cursor to the staff API and shows 下一页 only while more follow."""
    import httpx

    asked: list[httpx.QueryParams] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params)
        more = request.url.params.get("cursor") is None
        row = {"uscc": "91110113MA001N9R6P", "enterprise_name": "北京示例有限公司", "district": "海淀区",
               "level": 3, "graded_on": "2025-03-01"}  # fmt: skip
        return httpx.Response(200, json={"items": [row], "next_cursor": "abc.0123456789abcdef" if more else None})

    config = ConsoleSettings(auth_secret=SECRET, signin="dev", cookie_secure=False)
    with TestClient(build_app(config, Services(config, transport=httpx.MockTransport(answer)))) as c:
        first = c.get("/public/grades", params={"district": "海淀区", "year": "2025"}).text
        assert dict(asked[-1]) == {"district": "海淀区", "year": "2025", "limit": "100"}
        assert "北京示例有限公司" in first and "cursor=abc.0123456789abcdef" in first and "回到第一页" not in first
        last = c.get("/public/grades", params={"district": "海淀区", "cursor": "abc.0123456789abcdef"}).text
        assert asked[-1]["cursor"] == "abc.0123456789abcdef" and "year" not in asked[-1]
        assert "下一页" not in last and "回到第一页" in last
        c.get("/public/grades", params={"district": "不是一个区"})
        assert "district" not in asked[-1], "an unknown district is not passed on"


def test_the_dashboard_counts_with_one_call_instead_of_walking_the_lists() -> None:
    """The dashboard's figures come from GET /v1/public/counts; the published lists are not read."""
    import httpx

    paths: list[str] = []
    counts = {
        "grades": [{"district": "海淀区", "level": 3, "count": 1200}, {"district": "海淀区", "level": 1, "count": 7},
                   {"district": "朝阳区", "level": None, "count": 4}],
        "listed": [{"district": "顺义区", "designation": "green-factory", "count": 40},
                   {"district": "顺义区", "designation": "beautiful-factory", "count": 2}],
        "grades_total": 1211, "listed_total": 42,
    }  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/v1/public/counts":
            return httpx.Response(200, json=counts)
        return httpx.Response(200, json={"items": [], "next_cursor": None, "limit": 500})

    config = ConsoleSettings(auth_secret=SECRET, signin="dev", cookie_secure=False)
    with TestClient(build_app(config, Services(config, transport=httpx.MockTransport(answer)))) as c:
        c.cookies.set("greenfab_session", issue_token(SECRET, Principal(role="bureau", subject="li")))
        page = c.get("/dashboard")
    assert page.status_code == 200, page.text
    assert "/v1/public/counts" in paths and not {"/v1/public/grades", "/v1/public/listed"} & set(paths)
    assert "<td>1200</td>" in page.text and "<td>1207</td>" in page.text, "海淀区: 1,200 at level 3, 1,207 in all"
    assert "顺义区 42" in page.text and '<span class="count">42</span>' in page.text


def test_the_just_submitted_banner_says_scoring_only_while_it_is() -> None:
    from services.console.web import TEMPLATES

    banner = TEMPLATES.env.get_template("declaration.html").blocks["main"]

    def first_status(status: str, status_zh: str) -> str:
        declaration = {"id": "d-1", "enterprise_name": "北京示例", "scheme": "grading", "status": status,
                       "status_zh": status_zh, "declared_on": "2026-12-01", "district": "大兴区",
                       "uscc": "91110115MA04C2UX1E", "error": None}  # fmt: skip
        context = TEMPLATES.env.get_template("declaration.html").new_context(
            {
                "new": True,
                "declaration": declaration,
                "evidence": {"items": [], "complete": True},
                "viewer": {"role": "bureau"},
                "evaluation": None,
                "errors": {},
                "values": {},
            }
        )
        html = "".join(banner(context))
        return html.split('role="status">', 1)[1].split("</p>", 1)[0]

    assert first_status("pending", "评分中") == "申报已受理（编号 d-1），正在评分。"
    assert first_status("evaluated", "已完成评价") == "申报已受理（编号 d-1），已完成评价。"


def test_the_declaration_page_offers_the_indicators_intake_accepts_before_the_score() -> None:
    """A green-factory form lists no evidence: the select offers the rulebook's items intake names, id and name."""
    import html

    import httpx

    from contracts.schemes import Scheme
    from services.intake.indicators import Indicators

    owner = "91110113MA001N9R6P"
    shipped = Indicators().of_rulebook(Scheme.GREEN_FACTORY, date(2025, 10, 8))
    declaration = {"id": "d-1", "scheme": "green-factory", "uscc": owner,
                   "enterprise_name": "北京示例食品饮料有限公司", "district": "顺义区", "declared_on": "2025-10-08",
                   "received_at": "2026-12-04T08:00:00Z", "status": "pending", "status_zh": "评价中",
                   "data": {}}  # fmt: skip
    report = {"declaration_id": "d-1", "complete": True, "items": [],
              "indicators": [{"id": i.id, "name_zh": i.name_zh} for i in shipped]}  # fmt: skip

    def answer(request: httpx.Request) -> httpx.Response:
        found = {"/v1/declarations/d-1": declaration, "/v1/declarations/d-1/evidence": report}
        return httpx.Response(200, json=found[request.url.path])

    config = ConsoleSettings(auth_secret=SECRET, signin="dev", cookie_secure=False)
    with TestClient(build_app(config, Services(config, transport=httpx.MockTransport(answer)))) as c:
        c.cookies.set("greenfab_session", issue_token(SECRET, Principal(role="enterprise", subject=owner, scope=owner)))
        page = c.get("/declarations/d-1")
    assert page.status_code == 200, page.text
    select = page.text.split('<select id="in-item"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)
    assert [v for v, _ in options] == ["", *(i.id for i in shipped)], "every rulebook item, before the score"
    labels = dict(options)
    assert html.unescape(labels["GF-1-1"]) == "GF-1-1 新改扩建遵守节能评估审查、三同时…", "shortened, with its id"
    assert html.unescape(labels["GF-0-9"]) == "GF-0-9 工厂行业类型属于高精尖产业", "a short name kept whole"
    assert html.unescape(labels["GF-1-16"]) == "GF-1-16 依据GB 17167…", "cut at a pause, not inside a number"
