"""The intake service's form definitions: what a front end needs to draw a scheme's declaration form."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FormField(BaseModel):
    """One field of a form, as the paper form labels it."""

    path: str = Field(description="The label path, sections joined by '/', e.g. 一般要求/依法设立; the form's key.")
    sections: list[str] = Field(description="The sections above the label, outermost first (none at the top).")
    label: str = Field(description="The field's own label (the last part of the path).")
    type: str = Field(description="How intake reads it: tick, number, share, amount, choice, checklist, header, …")
    required: bool = Field(description="A declaration without it is refused.")
    inputs: list[str] = Field(
        default_factory=list, description="The rulebook inputs it fills (`$.data.<input>` in an error's path)."
    )
    unit: str | None = Field(default=None, description="The unit an amount is read in when none is typed.")
    help_zh: str = Field(description="What to type, in Chinese (the template's 说明 column).")
    options: list[str] = Field(default_factory=list, description="Choice options or checklist boxes, as labelled.")
    ticked: bool = Field(default=False, description="A choice written with tick marks (☑国家级 □市级).")


class EvidenceAsked(BaseModel):
    """One row of the form's 证明材料 column."""

    item: str = Field(description="The indicator, e.g. BF-3.")
    required: bool = Field(description="False where the form says 无需提供.")
    what: str = Field(description="What the form asks for, in Chinese.")


class FormDefinition(BaseModel):
    """A scheme's declaration form: header fields first, then every field in the paper form's order."""

    scheme: str = Field(description="grading | green-factory | beautiful-factory.")
    fields: list[FormField] = Field(description="Header fields (申报单位, …) then the form's fields.")
    evidence: list[EvidenceAsked] = Field(description="The 证明材料 column (empty where the form has none).")
