"""MkDocs hooks: parts of pages generated at build time from the code and the benchmarks, so they cannot drift.

* ``<!-- cli-reference -->`` becomes the command-line reference built from deltaprop's own argument parser
  (:func:`deltaprop.cli.reference.markdown_reference`);
* ``<!-- bench-results -->`` becomes ``bench/RESULTS.md`` (written by the scripts in ``bench/``), its
  headings one level down and its picture served from ``img/compare.png``;
* ``<!-- bench-section: HEADING -->`` becomes the one section of ``bench/RESULTS.md`` whose heading starts with
  HEADING (without the heading), so that a guide quotes the measured figures from the same file.
"""
import re

from pathlib import Path

from mkdocs.structure.files import File

from deltaprop.cli.reference import markdown_reference

ROOT = Path(__file__).resolve().parent.parent
CLI_MARKER = "<!-- cli-reference -->"
BENCH_MARKER = "<!-- bench-results -->"


def bench_results() -> str:
    lines = (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8").splitlines()
    body = [line for line in lines if not line.startswith("# ")]
    body = ["#" + line if line.startswith("##") else line for line in body]
    return "\n".join(body).replace("](compare.png)", "](img/compare.png)")


SECTION_MARKER = re.compile(r"<!-- bench-section: (.+?) -->")


def bench_section(heading: str) -> str:
    """The body of the section of bench/RESULTS.md whose ``## `` heading starts with ``heading``."""
    text = (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    start = text.index("\n## " + heading)
    body_start = text.index("\n", start + 1)
    end = text.find("\n## ", body_start)
    return text[body_start:end if end != -1 else len(text)].strip()


def on_files(files, config):
    files.append(File.generated(config, "img/compare.png", abs_src_path=str(ROOT / "bench" / "compare.png")))
    return files


def on_page_markdown(markdown, page, config, files):
    if CLI_MARKER in markdown:
        markdown = markdown.replace(CLI_MARKER, markdown_reference())
    if BENCH_MARKER in markdown:
        markdown = markdown.replace(BENCH_MARKER, bench_results())
    return SECTION_MARKER.sub(lambda match: bench_section(match.group(1)), markdown)
