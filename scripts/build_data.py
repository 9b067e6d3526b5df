"""Rebuild every committed file under data/ from installed packages and the course's generators."""
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"


def number_phrases() -> str:
    """data/number_phrases.tsv: number, phrase, split."""
    from helpers import numbers

    rows = ["number\tphrase\tsplit"]
    for split, nums in numbers.split_numbers().items():
        rows += [f"{n}\t{numbers.phrase(n)}\t{split}" for n in nums]
    head, body = rows[0], sorted(rows[1:], key=lambda r: int(r.split("\t")[0]))
    return "\n".join([head] + body) + "\n"


def number_translation() -> str:
    """data/number_translation.tsv: number, english, german, split (notebook 08)."""
    from helpers import translation

    rows = ["number\tenglish\tgerman\tsplit"]
    rows += ["\t".join(map(str, r)) for r in translation.table()]
    return "\n".join(rows) + "\n"


BUILDERS = {"number_phrases.tsv": number_phrases, "number_translation.tsv": number_translation}


def build(out_dir: Path = DATA) -> list[Path]:
    """Write every data file into out_dir; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in BUILDERS.items():
        path = out_dir / name
        path.write_text(make(), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(DATA.parent))
    for p in build():
        print("wrote", p)
