"""A published page as headless Chromium lays it out at a given width, for tests.

:func:`probe` copies the page with a small script added at the end of its body, opens the
copy with ``--dump-dom`` at ``width`` x 2000 px and reads back what the script measured
(``data-probe`` on ``<body>``, JSON):

* ``width``: the window's inner width (so a test knows the width was honoured);
* ``text``, ``title``, ``h1``: the visible text (``innerText``: no styles, scripts or hidden
  elements), the document title and the first heading;
* ``verdict``: for a table with a "Verdict" column header: whether the header lies within the
  window (``visible``), and else whether it sits inside a box that scrolls sideways
  (``scrolls``) and shows that it does (``cue``: an edge shadow drawn as a background
  gradient on the scrolling box, or a text cue before it);
* ``claim_width``: the drawn width of the claims table's "Claim (...)" column;
* ``wrapped_dates``: table cells holding only a month, a date or a period of them
  (``2012-03``, ``Mar 2012 – Feb 2014 (24 months)``) that break over more than one line;
* ``figure_ppi``: for each notebook figure, its drawn width in CSS pixels per inch of the
  figure (from the PNG's natural width and :data:`PNG_DPI`): below about 60, 8-point text
  is under 7 px high and cannot be read;
* ``page_overflow``: whether the whole page is wider than the window.

:func:`problems` turns one probe into a list of readable problems, with
``tests/page_checks.py`` for the text.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import page_checks

#: Resolution of the notebook figures' PNGs (``analysis.report.theme.PNG_DPI``).
PNG_DPI = 150
#: Narrowest claims column (CSS px) in which a claim still reads as a sentence.
MIN_CLAIM_WIDTH = 150
#: Fewest CSS pixels per figure inch at which 8-point figure text stays readable (7 px).
MIN_FIGURE_PPI = 60

PROBE_JS = r"""
(function () {
  const out = {width: window.innerWidth, title: document.title,
               text: document.body.innerText,
               page_overflow: document.documentElement.scrollWidth > window.innerWidth + 1};
  const h1 = document.querySelector('h1');
  out.h1 = h1 ? h1.innerText : '';
  const th = [...document.querySelectorAll('th')].find(t => t.textContent.trim() === 'Verdict');
  if (th) {
    const r = th.getBoundingClientRect();
    const v = {visible: r.left >= 0 && r.right <= window.innerWidth, scrolls: false, cue: false};
    for (let el = th.parentElement; el && el !== document.body; el = el.parentElement) {
      const cs = getComputedStyle(el);
      if ((cs.overflowX === 'auto' || cs.overflowX === 'scroll') &&
          el.scrollWidth > el.clientWidth + 1) {
        const box = el.getBoundingClientRect();
        v.scrolls = box.right <= window.innerWidth + 1;
        const before = getComputedStyle(el.parentElement, '::before').content;
        v.cue = /gradient/.test(cs.backgroundImage) || (before !== 'none' && before !== 'normal');
        break;
      }
    }
    out.verdict = v;
    const claim = [...document.querySelectorAll('th')].find(t => t.textContent.trim().startsWith('Claim ('));
    if (claim) out.claim_width = claim.getBoundingClientRect().width;
  }
  // a month, a date or a period of them: 2012-03, 2012-03-01, Mar 2012, Mar 2012 – Feb 2014
  // (24 months)
  const M = '(?:\\d{4}-\\d{2}(?:-\\d{2})?|[A-Z][a-z]{2} \\d{4})';
  const DATE_CELL = new RegExp('^' + M + '(?: [–-] ' + M + ')?(?: \\(\\d+ months\\))?$');
  out.wrapped_dates = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const t = cell.textContent.trim();
    if (!DATE_CELL.test(t)) continue;
    const range = document.createRange();
    range.selectNodeContents(cell);
    const tops = new Set([...range.getClientRects()].map(q => Math.round(q.top)));
    if (tops.size > 1) out.wrapped_dates.push(t);
  }
  out.figure_ppi = [...document.querySelectorAll('.jp-RenderedImage img')]
    .filter(img => img.naturalWidth > 0)
    .map(img => img.getBoundingClientRect().width / img.naturalWidth * %(dpi)s);
  document.body.setAttribute('data-probe', JSON.stringify(out));
})();
""".replace("%(dpi)s", str(PNG_DPI))


def browser() -> str | None:
    """The headless Chromium on PATH, or None."""
    return shutil.which("chromium-headless-shell") or shutil.which("chromium")


def probe(page: Path, width: int, work: Path) -> dict[str, Any]:
    """What the script of the module docstring measures on ``page`` at ``width`` px."""
    binary = browser()
    assert binary is not None, "no headless Chromium on PATH"
    work.mkdir(parents=True, exist_ok=True)
    copy = work / f"probe-{width}-{page.name}"
    source = page.read_text(encoding="utf-8")
    copy.write_text(source.replace("</body>", f"<script>{PROBE_JS}</script></body>"), "utf-8")
    proc = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            f"--user-data-dir={work / 'profile'}",
            f"--window-size={width},2000",
            "--dump-dom",
            copy.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    m = re.search(r'<body[^>]*\sdata-probe="([^"]*)"', proc.stdout)
    assert m, f"{page}: no probe result at {width} px ({proc.stderr.strip()[-300:]})"
    return json.loads(htmllib.unescape(m.group(1)))


def problems(result: dict[str, Any], width: int) -> list[str]:
    """Readable problems of one :func:`probe` result (empty: the page is fine at ``width``)."""
    out: list[str] = []
    if result["width"] != width:
        out.append(f"window is {result['width']} px wide, not {width}")
    out += [str(v) for v in page_checks.text_violations(result["text"])]
    out += [str(v) for v in page_checks.title_violations(result["title"])]
    out += [str(v) for v in page_checks.title_violations(result["h1"])]
    verdict = result.get("verdict")
    if verdict and not verdict["visible"] and not (verdict["scrolls"] and verdict["cue"]):
        out.append(f"verdict column off-screen without a visible scroll ({verdict})")
    if result.get("claim_width") is not None and result["claim_width"] < MIN_CLAIM_WIDTH:
        out.append(f"claim column squeezed to {result['claim_width']:.0f} px")
    out += [f"date cell wraps: {d}" for d in result["wrapped_dates"]]
    out += [
        f"figure drawn at {ppi:.0f} px per inch (< {MIN_FIGURE_PPI}): its text is unreadable"
        for ppi in result["figure_ppi"]
        if ppi < MIN_FIGURE_PPI
    ]
    if result["page_overflow"]:
        out.append("the page is wider than the window")
    return out
