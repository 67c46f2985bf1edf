"""Builders of the files the readers' tests read: PDFs (one column, two columns, running
headers, a scanned page), Word files, web pages and e-books, each made here from text, so that
no test depends on a binary nobody can read. Also used by bench/readers.py.

A built-in article becomes a file of another format with ``render(txt_path, fmt, out_dir)``:
each paragraph of the text becomes a paragraph of the file, its first line the title.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from html import escape
from pathlib import Path

import reportlab

FONT = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")  # ships with reportlab


def _styles() -> tuple[object, object]:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", FONT))
    sheet = getSampleStyleSheet()
    body, heading = sheet["BodyText"], sheet["Heading2"]
    body.fontName = heading.fontName = "Vera"
    return body, heading


def pdf(
    path: Path,
    pages: Sequence[Sequence[str]],
    *,
    columns: int = 1,
    header: str = "",
    title: str = "",
    headings: Sequence[str] = (),
    password: str = "",
) -> Path:
    """A PDF whose page i holds the paragraphs ``pages[i]`` (a page break after each group;
    a long group flows on to more pages). ``headings``: paragraphs set in a heading's font.
    ``header``: a running header on each page and a "Page n" footer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import BaseDocTemplate, Frame, PageBreak, PageTemplate, Paragraph

    body, heading = _styles()
    width, height = A4
    margin, gap = 60, 20
    column = (width - 2 * margin - gap * (columns - 1)) / columns
    frames = [
        Frame(margin + i * (column + gap), margin, column, height - 2 * margin, id=f"c{i}")
        for i in range(columns)
    ]

    def furniture(canvas: object, doc: object) -> None:
        if header:
            canvas.setFont("Vera", 8)  # type: ignore[attr-defined]
            canvas.drawString(margin, height - 40, header)  # type: ignore[attr-defined]
            canvas.drawString(width / 2, 30, f"Page {doc.page}")  # type: ignore[attr-defined]

    encrypt = None
    if password:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(password, canPrint=0)
    doc = BaseDocTemplate(str(path), pagesize=A4, title=title, encrypt=encrypt)
    doc.addPageTemplates([PageTemplate(frames=frames, onPage=furniture)])
    story: list[object] = []
    for i, paragraphs in enumerate(pages):
        if i:
            story.append(PageBreak())
        for p in paragraphs:
            story.append(Paragraph(escape(p), heading if p in headings else body))
    doc.build(story)
    return path


def scanned_pdf(path: Path, lines: Sequence[str]) -> Path:
    """A one-page PDF holding only a picture of ``lines`` (as a scanner makes): no text."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (2480, 3508), 255)  # A4 at 300 dpi
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(FONT, 44)
    for i, line in enumerate(lines):
        draw.text((200, 250 + i * 80), line, font=font, fill=0)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(image), 0, 0, *A4)
    c.save()
    return path


def docx(path: Path, blocks: Sequence[tuple[str, str]], *, title: str = "") -> Path:
    """A Word file of ``(kind, text)`` blocks: kind "h1"/"h2" a heading, "p" a paragraph,
    "table" a table whose rows are separated by ";" and cells by "|"."""
    import docx as python_docx

    document = python_docx.Document()
    document.core_properties.title = title
    for kind, text in blocks:
        if kind.startswith("h"):
            document.add_heading(text, level=int(kind[1:]))
        elif kind == "table":
            rows = [r.split("|") for r in text.split(";")]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell.strip()
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


def html(
    path: Path,
    title: str,
    blocks: Sequence[tuple[str, str]],
    *,
    author: str = "",
    date: str = "",
) -> Path:
    """A saved news page: ``blocks`` as in ``docx`` inside the article, and around it a menu,
    a newsletter box, an ad, a footer and a comment, which the reader must leave out."""
    meta = f'<meta name="author" content="{escape(author)}">' if author else ""
    if date:
        meta += f'<meta property="article:published_time" content="{date}">'
    body = "".join(
        f"<{kind}>{escape(text)}</{kind}>" if kind.startswith("h") else f"<p>{escape(text)}</p>"
        for kind, text in blocks
    )
    path.write_text(
        f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{escape(title)} - Le Journal</title>{meta}</head><body>
<nav><ul><li><a href="/">Accueil</a></li><li><a href="/tech">Tech</a></li>
<li><a href="/eco">Économie</a></li></ul></nav>
<article><h1>{escape(title)}</h1>{body}</article>
<div class="newsletter">Inscrivez-vous à notre newsletter pour ne rien rater.</div>
<aside class="ad">Publicité : achetez nos montres connectées à prix réduit.</aside>
<section class="comments"><h3>Commentaires</h3><p>Super article, bravo ! (Toto)</p></section>
<footer>© Le Journal 2025 — Mentions légales — Contact</footer></body></html>""",
        encoding="utf-8",
    )
    return path


def epub(
    path: Path,
    title: str,
    chapters: Sequence[tuple[str, Sequence[str]]],
    *,
    drm: bool = False,
) -> Path:
    """An EPUB 3 book of ``(chapter name, paragraphs)``, with its table of contents; with
    ``drm``, an encryption.xml that encrypts the chapters as a DRM'd book does."""
    items = "".join(
        f'<item id="c{i}" href="text/c{i}.xhtml" media-type="application/xhtml+xml"/>'
        for i in range(len(chapters))
    )
    spine = "".join(f'<itemref idref="c{i}"/>' for i in range(len(chapters)))
    nav = "".join(
        f'<li><a href="text/c{i}.xhtml">{escape(name)}</a></li>'
        for i, (name, _) in enumerate(chapters)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" '
            'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
            '<rootfile full-path="OEBPS/content.opf" '
            'media-type="application/oebps-package+xml"/></rootfiles></container>',
        )
        z.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{escape(title)}</dc:title><dc:creator>Anne Autrice</dc:creator>"
            "<dc:date>2024-05-01</dc:date></metadata>"
            f'<manifest><item id="nav" href="nav.xhtml" properties="nav" '
            f'media-type="application/xhtml+xml"/>{items}</manifest>'
            f"<spine>{spine}</spine></package>",
        )
        z.writestr(
            "OEBPS/nav.xhtml",
            '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
            f'<body><nav epub:type="toc"><ol>{nav}</ol></nav></body></html>',
        )
        for i, (_, paragraphs) in enumerate(chapters):
            text = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            z.writestr(
                f"OEBPS/text/c{i}.xhtml",
                '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>c</title></head>'
                f"<body>{text}</body></html>",
            )
        if drm:
            z.writestr(
                "META-INF/encryption.xml",
                '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
                '<enc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/>'
                "</enc:EncryptedData></encryption>",
            )
    path.write_bytes(buffer.getvalue())
    return path


def paragraphs_of(txt: Path) -> list[str]:
    """The paragraphs of a built-in article, one per non-blank line."""
    return [line.strip() for line in txt.read_text(encoding="utf-8").splitlines() if line.strip()]


def render(txt: Path, fmt: str, folder: Path) -> Path:
    """The article ``txt`` as a file of format ``fmt`` ("pdf", "docx", "html") in ``folder``,
    named after it: its title (the first paragraph after a tag slug) set as a heading, then
    its other paragraphs, boilerplate included, as the page saved as text had them."""
    paragraphs = paragraphs_of(txt)
    lead = 1 if len(paragraphs[0].split()) == 1 and paragraphs[0].islower() else 0
    title, body = paragraphs[lead], paragraphs[lead + 1 :]
    out = folder / f"{txt.stem}.{fmt}"
    if fmt == "pdf":
        return pdf(out, [[title, *body]], headings=[title])
    if fmt == "docx":
        return docx(out, [("h1", title)] + [("p", p) for p in body])
    if fmt == "html":
        return html(out, title, [("p", p) for p in body])
    raise ValueError(fmt)
