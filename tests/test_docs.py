"""The README and the pages of docs/: every relative link points at a file that exists, and every #anchor at
a heading of its page, as GitHub names headings. Reads markdown only; imports no project module."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...


def pages():
    """README.md and docs/*.md, relative to the repository (docs/pending/ is a drafting area, not a page)."""
    docs = sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    return [p for p in ["README.md"] + docs if os.path.isfile(os.path.join(ROOT, p))]


def prose_lines(text, keep_code=False):
    """(line number, line) outside fenced code blocks, with inline code spans blanked out unless keep_code."""
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line if keep_code else re.sub(r"`[^`]*`", "", line)


def github_anchor(heading):
    """The id GitHub gives a heading: lower case, markup and punctuation dropped (letters, digits, '-', '_'
    and spaces kept), spaces made '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text):
    """Every heading's anchor in a markdown text; a repeated heading gets -1, -2, ... as on GitHub."""
    seen = {}
    found = set()
    for _, line in prose_lines(text, keep_code=True):
        match = re.match(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else "%s-%d" % (base, count))
    return found


def broken_links(root, page):
    """'page:line: target (why)' for each relative link of `page` that does not resolve."""
    with open(os.path.join(root, page), encoding="utf-8") as f:
        text = f.read()
    bad = []
    for number, line in prose_lines(text):
        for target in LINK.findall(line):
            if EXTERNAL.match(target):
                continue
            path, _, fragment = target.partition("#")
            resolved = os.path.normpath(os.path.join(root, os.path.dirname(page), path)) if path else \
                os.path.join(root, page)
            where = "%s:%d: %s" % (page, number, target)
            if not os.path.exists(resolved):
                bad.append(where + " (no such file)")
            elif fragment and resolved.endswith(".md"):
                with open(resolved, encoding="utf-8") as f:
                    if fragment not in anchors(f.read()):
                        bad.append(where + " (no such heading)")
    return bad


@pytest.mark.parametrize("page", pages())
def test_every_relative_link_and_anchor_resolves(page):
    bad = broken_links(ROOT, page)
    assert not bad, "broken links:\n  " + "\n  ".join(bad)


def test_readme_is_a_front_page():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        lines = f.read().count("\n")
    assert lines <= 250, "README.md has %d lines: keep it a front page (<= 250), details go to docs/" % lines


def test_github_anchors():
    assert github_anchor("Searching the settings on validation (`scripts/tune.py`)") == \
        "searching-the-settings-on-validation-scriptstunepy"
    assert github_anchor("Results: reproducing the DKVMN paper (Table 3)") == \
        "results-reproducing-the-dkvmn-paper-table-3"
    assert github_anchor("Predict a student's next answers and knowledge state") == \
        "predict-a-students-next-answers-and-knowledge-state"
    assert github_anchor("1. Map your columns") == "1-map-your-columns"
    assert anchors("# A\n\n```\n# not a heading\n```\n## A\n") == {"a", "a-1"}


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# Page\n\n## Known heading\n")
    (tmp_path / "README.md").write_text(
        "# Front\n\n"
        "[ok](docs/page.md#known-heading) [ok too](#front) [web](https://example.org/x#y)\n"
        "[gone](docs/missing.md) [no heading](docs/page.md#unknown) ![img](docs/none.png)\n"
        "`[in code](docs/missing.md)`\n\n```\n[in a block](docs/missing.md)\n```\n")
    bad = broken_links(str(tmp_path), "README.md")
    assert bad == ["README.md:4: docs/missing.md (no such file)",
                   "README.md:4: docs/page.md#unknown (no such heading)",
                   "README.md:4: docs/none.png (no such file)"], bad
