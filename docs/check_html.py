"""Check the built HTML pages for what a reader should never see.

Run after the Sphinx build (``.ci/run`` does)::

    python docs/check_html.py docs/_build/html

It reports, with the page and an excerpt, and exits 1 on any:

- a stray backtick in the text of a page (markup that did not render),
  outside code and literal blocks;
- words of the development process: "this session", a commit hash (a word
  of 7 to 12 hex digits with both letters and digits, after "commit"), the
  sibling ``../shared`` folder or a machine path (``/work/``, ``/tmp/``,
  ``/home/``, ``/root/``).
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

#: (what it is, pattern) searched in the text of every page
FORBIDDEN = [
    ("internal language", re.compile(r"this session", re.IGNORECASE)),
    ("a commit hash", re.compile(r"\bcommits?\s+(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,12}\b")),
    ("the shared folder", re.compile(r"\.\./shared")),
    ("a machine path", re.compile(r"(?<![\w.])/(?:work|tmp|home|root)/")),
]
#: elements whose text is code, where backticks are legitimate
CODE = {"pre", "code", "script", "style", "kbd", "samp"}
#: folders of the build that are not pages
SKIPPED = {"_static", "_sources", "_images", "_downloads", "_modules"}


class _Text(HTMLParser):
    """The text of a page: all of it, and what lies outside code."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.all = []
        self.prose = []

    def handle_starttag(self, tag, attrs):
        if tag in CODE:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in CODE and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        self.all.append(data)
        if not self.depth:
            self.prose.append(data)


def problems(html):
    """(what, excerpt) for each problem in one page's HTML."""
    parser = _Text()
    parser.feed(html)
    text, prose = "".join(parser.all), "".join(parser.prose)
    found = []
    for match in re.finditer("`+", prose):
        found.append(("a stray backtick", _excerpt(prose, match)))
    for what, pattern in FORBIDDEN:
        for match in pattern.finditer(text):
            found.append((what, _excerpt(text, match)))
    return found


def _excerpt(text, match, width=40):
    start, end = max(match.start() - width, 0), match.end() + width
    return " ".join(text[start:end].split())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0] if argv else "docs/_build/html")
    if not root.is_dir():
        print(f"{root} is not a folder: build the docs first", file=sys.stderr)
        return 2
    count = 0
    pages = [p for p in sorted(root.rglob("*.html"))
             if not SKIPPED & set(p.relative_to(root).parts)]
    for page in pages:
        for what, excerpt in problems(page.read_text(encoding="utf-8")):
            count += 1
            print(f"{page.relative_to(root)}: {what}: ...{excerpt}...")
    print(f"{len(pages)} pages checked, {count} problem(s)")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
