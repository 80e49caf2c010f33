"""README.md and docs/*.md: tables verbatim from committed files, no number without a committed source, no dead link.

Tables are embedded between `<!-- <path> -->` and `<!-- end <path> -->` lines and compared with `git show HEAD:<path>`:
the committed file, not a regenerated one (`dvc repro` on another CPU gives other floats, and the docs describe the
committed run). A file not committed yet is skipped.

The number rule: every page ends with a paragraph `Sources: ` listing the backticked repo-relative paths of committed
files (reports, metrics, benchmark results, conf files whose comments say how a budget was chosen). Every number in
the page's prose must occur in one of them or in a table the page embeds. Prose is the page without fenced code
blocks, inline code, embedded tables, HTML comments, link targets and URLs. Numbers are read alike from pages and
sources: thousands separators and signs dropped, `2^24` kept as one token, `109.5M` read as 109,500,000. A number
matches a source number that rounds to it at its own precision ("7.4" matches 7.4094, "306" matches 306.2), and a
percentage also matches a fraction ("92.9%" matches 0.9286).

Exempt, since they are not measurements:
- integers 0-9 and years 1900-2099;
- 90, the definition of d_int90;
- numbers inside names: glued to a letter or `_` on the left (`v5`, `L6`, `float32`, `theta_0`), after a hyphen glued to
  a letter (`CIFAR-10`, `ResNet-20`), or glued to a letter on the right other than x (ratios) and k, M, G (`1D`);
- dotted references with two or more dots (Catoni's Thm 1.2.6, torch 2.14.1).
"""

import bisect
import functools
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGE_FILES = [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))]
PAGES = {path.relative_to(ROOT).as_posix(): path.read_text() for path in PAGE_FILES}

EMBEDDED = re.compile(r"<!-- (\S+) -->\n(.*?)<!-- end \1 -->", flags=re.DOTALL)
FENCED = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
COMMENT = re.compile(r"<!--.*?-->", flags=re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
URL = re.compile(r"https?://\S+")
SOURCES = re.compile(r"^Sources: (.+)\Z", flags=re.MULTILINE | re.DOTALL)  # the page's last paragraph
DOTTED_REFERENCE = re.compile(r"\d+(?:\.\d+){2,}")
NUMBER = re.compile(r"\d+\^\d+|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
MAGNITUDES = {"k": 3, "M": 6, "G": 9}
DEFINITION_OF_D_INT90 = 90

KEY_TABLES = {
    "reports/quick/toy/summary.md", "reports/quick/vision/summary.md", "reports/language/language/summary.md",
    "reports/quick/rl/summary.md", "reports/quick/bounds/vision/bounds.md", "benchmarks/results/core.md",
    "benchmarks/results/study.md", "benchmarks/results/study_mnist_3_seeds.md",
    "benchmarks/results/study_mnist_1_seed_before_issue_11.md", "benchmarks/results/language.md",
    "benchmarks/results/rl.md",
}  # fmt: skip


@functools.cache
def committed_or_none(name: str) -> str | None:
    done = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


@functools.cache
def in_a_git_checkout() -> bool:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0


def committed(name: str) -> str:
    text = committed_or_none(name)
    if text is None:
        pytest.skip(f"{name} is not committed in a git checkout here")
    return text


def embedded(page: str) -> list[tuple[str, str]]:
    return EMBEDDED.findall(PAGES[page])


def sources(page: str) -> list[str]:
    paragraph = SOURCES.search(PAGES[page].rstrip("\n"))
    return re.findall(r"`([^`]+)`", paragraph.group(1)) if paragraph else []


def prose(text: str) -> str:
    """The page as read, without what the number rule leaves to other checks (tables) or does not cover (code)."""
    text = SOURCES.sub("", text.rstrip("\n"))
    for pattern in (EMBEDDED, FENCED, COMMENT, INLINE_CODE, URL):
        text = pattern.sub("", text)
    return DOTTED_REFERENCE.sub("", LINK.sub("]", text))


def numbers(text: str, skip_names: bool = True):
    """(token, value, half a unit of its last digit, whether a % follows) of every number in the text.

    The value of `2^24` is the token itself, matched as written.
    """
    for match in NUMBER.finditer(text):
        token, start, end = match.group(), match.start(), match.end()
        left, right = text[start - 1 : start], text[end : end + 1]
        magnitude = 0 if text[end + 1 : end + 2].isalpha() else MAGNITUDES.get(right, 0)
        named = left.isalpha() or left == "_" or (left == "-" and text[start - 2 : start - 1].isalpha())
        if skip_names and (named or (right.isalpha() and right != "x" and not magnitude)):
            continue
        if "^" in token:
            yield token, token, None, False
            continue
        mantissa, _, exponent = token.replace(",", "").lower().partition("e")
        exponent = int(exponent or 0) + magnitude
        decimals = min(max(len(mantissa.partition(".")[2]) - exponent, -300), 300)  # hex digests read as 1e4800
        yield token, float(f"{mantissa}e{exponent}"), 0.5 * 10.0**-decimals, right == "%"


def exempt(token: str, value) -> bool:
    if isinstance(value, str) or not token.isdigit():
        return False
    return value <= 9 or value == DEFINITION_OF_D_INT90 or (len(token) == 4 and 1900 <= value <= 2099)


@functools.cache
def source_numbers(page: str) -> tuple[list[float], set[str]]:
    """Every number of the files a page cites or embeds: sorted values, and powers like `2^24` as written."""
    names = sources(page) + [name for name, _ in embedded(page)]
    values, powers = [], set()
    for text in filter(None, map(committed_or_none, names)):
        for _, value, _, _ in numbers(text, skip_names=False):
            (powers.add(value) if isinstance(value, str) else values.append(value))
        values += [float(plain) for plain in re.findall(r"\d+(?:\.\d+)?", text)]  # "100,300" read as two numbers too
    return sorted(values), powers


def occurs(value: float, half_unit: float, percentage: bool, values: list[float]) -> bool:
    for center, width in [(value, half_unit)] + ([(value / 100, half_unit / 100)] if percentage else []):
        width += 1e-9 * abs(center)
        index = bisect.bisect_left(values, center - width)
        if index < len(values) and values[index] <= center + width:
            return True
    return False


def prose_numbers() -> list:
    cases = []
    for page, text in PAGES.items():
        seen = set()
        for line in prose(text).splitlines():
            for token, value, half_unit, percentage in numbers(line):
                if not exempt(token, value) and (token, percentage) not in seen:
                    seen.add((token, percentage))
                    args = (page, token, value, half_unit, percentage, line.strip())
                    cases.append(pytest.param(*args, id=f"{page}:{token}{'%' if percentage else ''}"))
    return cases


def relative_links() -> list:
    cases = []
    for page, text in PAGES.items():
        for target in LINK.findall(INLINE_CODE.sub("", FENCED.sub("", text))):
            if not re.match(r"[a-z]+:|#", target):
                path = ((ROOT / page).parent / target.partition("#")[0]).resolve()
                cases.append(pytest.param(page, path.relative_to(ROOT).as_posix(), id=f"{page}->{target}"))
    return cases


ALL_EMBEDDED = [(page, name, text) for page in PAGES for name, text in embedded(page)]
ALL_SOURCES = [(page, name) for page in PAGES for name in sources(page)]


def test_the_readme_embeds_the_headline_table_and_the_docs_every_key_table():
    assert "reports/quick/headline.md" in {name for name, _ in embedded("README.md")}
    assert KEY_TABLES <= {name for _, name, _ in ALL_EMBEDDED}


@pytest.mark.parametrize(("page", "name", "text"), ALL_EMBEDDED, ids=[f"{p}:{n}" for p, n, _ in ALL_EMBEDDED])
def test_embedded_tables_match_the_committed_files(page, name, text):
    assert text == committed(name), f"{page} embeds {name}, which differs from the committed file"


def test_the_readme_leads_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", PAGES["README.md"], flags=re.DOTALL)
    assert blocks[0].strip().endswith("dvc repro") and blocks[1].strip() == ".venv/bin/python -m pytest"


def test_the_readme_is_a_front_page():
    assert len(PAGES["README.md"].splitlines()) <= 260


def test_the_readme_links_every_docs_page_and_each_exists():
    linked = {target.partition("#")[0] for target in LINK.findall(PAGES["README.md"]) if target.startswith("docs/")}
    assert {page for page in PAGES if page.startswith("docs/")} <= linked
    assert {page for page in linked if not (ROOT / page).is_file()} == set()


@pytest.mark.parametrize(("page", "target"), relative_links())
def test_relative_links_resolve_to_files_in_the_repo(page, target):
    assert (ROOT / target).exists(), f"{page} links to {target}, which does not exist"


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_ends_with_its_sources(page):
    assert sources(page), f"{page} does not end with a paragraph 'Sources: `path`, ...'"


@pytest.mark.parametrize(("page", "name"), ALL_SOURCES, ids=[f"{p}:{n}" for p, n in ALL_SOURCES])
def test_sources_are_committed(page, name):
    if not in_a_git_checkout():
        pytest.skip("not a git checkout")
    assert committed_or_none(name) is not None, f"{page} cites {name}, which is not committed"


@pytest.mark.parametrize(("page", "token", "value", "half_unit", "percentage", "line"), prose_numbers())
def test_every_number_in_the_prose_comes_from_a_cited_file(page, token, value, half_unit, percentage, line):
    if not in_a_git_checkout():
        pytest.skip("not a git checkout")
    values, powers = source_numbers(page)
    found = value in powers if isinstance(value, str) else occurs(value, half_unit, percentage, values)
    assert found, f"{page}: {token} is in none of its sources or embedded tables; in: {line}"
