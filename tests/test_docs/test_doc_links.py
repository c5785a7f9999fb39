"""README.md and docs/*.md point at what exists.

- every relative link resolves to a file or folder of the repository, and
  an ``#anchor`` to a heading of the page it names;
- every repository path the pages name (``tools/...py``, ``configs/...py``,
  ``tests/...py``...) exists, so a moved or renamed file shows up here;
- every page of docs/ is reachable from docs/index.md, and the index from
  the README;
- the README stays a front page (at most 200 lines).
"""
import glob
import os.path as osp
import re

import pytest
from conftest import REPO_ROOT

README = osp.join(REPO_ROOT, 'README.md')
PAGES = [README] + sorted(glob.glob(osp.join(REPO_ROOT, 'docs', '*.md')))
MAX_README_LINES = 200

FENCE = re.compile(r'^(```|~~~).*?^\1\s*$', re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r'`[^`\n]*`')
LINK = re.compile(r'(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$', re.MULTILINE)
# Repository files named anywhere in a page, code blocks included.
REPO_PATH = re.compile(
    r'(?<![\w/.$-])((?:configs|tools|tests|mmpose_medsapiens|docs)/[\w./-]*\w\.(?:py|sh|txt|md))\b')
# Files the tutorial has the reader create.
READER_CREATED = ('configs/my_ceph/', )


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def prose(text):
    """The page without fenced code blocks and code spans."""
    return CODE_SPAN.sub('', FENCE.sub('', text))


def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links keep their text
    text = text.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    seen, result = {}, set()
    for match in HEADING.finditer(FENCE.sub('', read(path))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f'{base}-{count}')
    return result


def relative_links(path):
    for target in LINK.findall(prose(read(path))):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target, re.IGNORECASE):  # http:, mailto:...
            continue
        yield target


def page_id(path):
    return osp.relpath(path, REPO_ROOT)


def test_readme_is_a_front_page():
    lines = read(README).splitlines()
    assert len(lines) <= MAX_README_LINES, f'README.md has {len(lines)} lines'


@pytest.mark.parametrize('path', PAGES, ids=page_id)
def test_relative_links_resolve(path):
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), file_part)) if file_part else path
        if not osp.exists(dest):
            broken.append(f'{target}: no {osp.relpath(dest, REPO_ROOT)}')
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            broken.append(f'{target}: no heading #{anchor} in {osp.relpath(dest, REPO_ROOT)}')
    assert not broken, f'{page_id(path)}:\n  ' + '\n  '.join(broken)


@pytest.mark.parametrize('path', PAGES, ids=page_id)
def test_named_repository_files_exist(path):
    named = set(REPO_PATH.findall(read(path)))
    missing = sorted(p for p in named if not p.startswith(READER_CREATED)
                     and not osp.exists(osp.join(REPO_ROOT, p)))
    assert not missing, f'{page_id(path)} names files that do not exist: {missing}'


def test_every_page_is_reachable_from_the_index():
    index = osp.join(REPO_ROOT, 'docs', 'index.md')
    assert 'docs/index.md' in set(relative_links(README))
    linked = {osp.normpath(osp.join(REPO_ROOT, 'docs', t.partition('#')[0]))
              for t in relative_links(index)}
    pages = {p for p in PAGES if p not in (README, index)}
    assert not pages - linked, f'docs/index.md does not link {sorted(pages - linked)}'


def test_slug_follows_github():
    assert slug('The backbone: `SapiensViT`') == 'the-backbone-sapiensvit'
    assert slug("Released checkpoints and the paper's numbers") == \
        'released-checkpoints-and-the-papers-numbers'
    assert slug('7. Real hand radiographs, end to end on the CPU') == \
        '7-real-hand-radiographs-end-to-end-on-the-cpu'
    assert slug('Predicting landmarks: `tools/infer.py`') == 'predicting-landmarks-toolsinferpy'
