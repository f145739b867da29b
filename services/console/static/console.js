// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A declaration being scored: look again every few seconds until its score is in.
  var pending = document.querySelector("[data-refresh]");
  if (pending) {
    window.setTimeout(function () { window.location.reload(); }, 1000 * Number(pending.getAttribute("data-refresh") || 3));
  }
  // The expert form: show what the total would become with the points typed.
  var points = document.getElementById("in-points");
  var preview = document.getElementById("points-preview");
  if (points && preview && points.dataset.provisional) {
    var base = Number(points.dataset.provisional);
    var show = function () {
      var p = Number(points.value);
      var strong = preview.querySelector("strong");
      if (points.value.trim() === "" || isNaN(p)) { return; }
      preview.textContent = "暂定总分 " + base.toFixed(2) + " → 计入本项 " + p + " 分后约 " + (base + p).toFixed(2) +
        "（全部专家项评定后重新计算最终总分）";
      if (strong) { /* replaced above */ }
    };
    points.addEventListener("input", show);
  }
  // A refusal shown in place: move focus to it so keyboard and screen-reader users hear it first.
  var refusal = document.getElementById("refusal");
  if (refusal) { refusal.setAttribute("tabindex", "-1"); refusal.focus(); }
})();
