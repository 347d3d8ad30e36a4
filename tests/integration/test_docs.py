"""The README and docs/ stand on their own in a clone: every link in them
names a file of the repository (or a heading), none a file outside it nor
a web page."""
import os
import re

from harness import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files():
    yield os.path.join(ROOT, "README.md")
    docs = os.path.join(ROOT, "docs")
    for name in sorted(os.listdir(docs)):
        if name.endswith(".md"):
            yield os.path.join(docs, name)


def test_every_link_names_a_file_of_the_repository():
    bad = []
    for path in markdown_files():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for target in LINK.findall(text):
            target = target.split("#", 1)[0]
            if not target:
                continue  # a heading of the same page
            where = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if "://" in target or not where.startswith(ROOT + os.sep) or not os.path.exists(where):
                bad.append(f"{os.path.relpath(path, ROOT)}: {target}")
    assert not bad, bad
