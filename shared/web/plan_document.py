"""The family's plan as a PDF (issue 21, item 3): the plan page's content (shared/views/plans.py) as real text in a
tagged PDF (headings H1/H2 and paragraphs in its structure tree, bookmarks, the document's language and title set),
in DejaVu Sans (embedded: any name a family writes, not only Latin-1). fpdf2, pure Python: nothing native in the
Lambda layer but Pillow's wheel, which fpdf2 imports.

fpdf2 tags its own section titles as figures; headings here are marked with their own structure types through its
marked-content hooks (`_add_marked_content`), which fpdf2 2.8 uses for the same job.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FONTS = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
LANGUAGE = "en-GB"


@functools.cache
def _tagged_pdf() -> Any:
    """fpdf2's FPDF with tagged headings and paragraphs. Imported here, not with the module: fpdf2, fontTools and
    Pillow cost about a second of import, which only a download should pay (the plan's page and the agreement share
    the connections function)."""
    from fpdf import FPDF  # noqa: PLC0415
    from fpdf.enums import XPos, YPos  # noqa: PLC0415

    class _TaggedPdf(FPDF):
        @contextmanager
        def tagged(self, struct_type: str) -> Iterator[None]:
            """Content marked as one element of the structure tree (/H1, /H2, /P)."""
            mcid = self.struct_builder.next_mcid_for_page(self.page)
            self._add_marked_content(struct_type=f"/{struct_type}", mcid=mcid)
            self._out(f"/{struct_type} <</MCID {mcid}>> BDC")
            yield
            self._out("EMC")

        def heading(self, text: str, level: int) -> None:
            size = 20 if level == 1 else 15
            if self.get_y() + 20 > self.h - self.b_margin:
                self.add_page()
            self.start_section(text, level=level - 1)  # a bookmark
            self.set_font(FAMILY, "B", size)
            self.ln(2)
            with self.tagged(f"H{level}"):
                self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(2)

        def paragraph(self, text: str, *, bold: bool = False) -> None:
            self.set_font(FAMILY, "B" if bold else "", 11)
            if self.get_y() + 12 > self.h - self.b_margin:
                self.add_page()
            with self.tagged("P"):
                self.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(1)

    return _TaggedPdf


def plan_pdf(plan: dict[str, Any], *, reference: str, coordinators_email: str, made: str = "") -> bytes:
    """The plan (`plan`: shared/web/plan_pages.shown of a plan's content) as a PDF's bytes."""
    pdf = _tagged_pdf()(format="A4")
    pdf.set_lang(LANGUAGE)
    pdf.set_title(f"The family's plan: {reference}")
    pdf.set_author("The council's Family Network service")
    pdf.set_creator("familynet")
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.heading("The family's plan", 1)
    pdf.paragraph(f"Reference {reference}")
    if made:
        pdf.paragraph(made)

    pdf.heading("What the family's network will do", 2)
    for number, action in enumerate(plan.get("actions") or [], 1):
        who = action["who"] + (f" ({action['partner']})" if action.get("partner") else "")
        pdf.paragraph(f"{number}. {who}: {action['what']}", bold=True)
        details = [f"How often: {action.get('how_often') or 'as agreed'}"]
        if action.get("by_when_text"):
            details.append(f"By {action['by_when_text']}")
        if action.get("checked_by"):
            details.append(f"Checked by {action['checked_by']}")
        pdf.paragraph(". ".join(details) + ".")
    if not plan.get("actions"):
        pdf.paragraph("The plan names no actions by the network.")

    pdf.heading("Support package", 2)
    for item in plan.get("package") or []:
        provider = f" ({item['partner']})" if item.get("partner") else ""
        pdf.paragraph(f"{item['description']}{provider}. {item['category']}. {item['status']}.")
    if not plan.get("package"):
        pdf.paragraph("The plan has no support package.")

    last = plan.get("last_reviewed_text")
    if plan.get("status") == "closed":
        pdf.heading("Reviews", 2)
        pdf.paragraph(f"The plan closed at its review on {last}." if last else "The plan closed at its review.")
    else:
        pdf.heading("Next review", 2)
        review = plan.get("next_review_text")
        pdf.paragraph(
            (f"The plan is next reviewed on {review}." if review else "No review is booked.")
            + (f" It was last reviewed on {last}." if last else "")
        )

    pdf.heading("Who to contact", 2)
    pdf.paragraph(
        f"The Family Network coordinators: {coordinators_email}. Quote the reference {reference} when you contact us."
    )
    return bytes(pdf.output())


def plan_download(plan: dict[str, Any], *, reference: str, coordinators_email: str) -> dict[str, Any]:
    """The plan as a PDF download (a recipient's link, and the console, answer the same)."""
    held = plan.get("held_on_text")
    made = f"Made with the family at their Family Network meeting on {held}." if held else ""
    content = plan_pdf(plan, reference=reference, coordinators_email=coordinators_email, made=made)
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="plan-{reference}.pdf"',
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
        "body": base64.b64encode(content).decode("ascii"),
        "isBase64Encoded": True,
    }
