"""Precision and recall of the knowledge-base suggestions on the labelled set, for a range of bars.

    python bench/kb_relevance.py [--bars 0.2,0.25,...] [--show 0.35]

The labelled set is tests/kb_labelled.py: a knowledge base, new mails, and which articles would help
each (any article not marked relevant for a mail counts as irrelevant). For each way of asking
(the subject alone, or with the opening of the mail at some weight; with or without the system check
of maildesk/kb/suggest.py) and each bar, it prints: suggestions made, precision (the share of them that
help), recall (the share of helpful articles suggested, at most three a mail), F1, and the mails that
got a wrong article. --show lists the wrong and the missed suggestions at one bar.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maildesk.kb import create_article  # noqa: E402
from maildesk.kb.suggest import BODY_WEIGHT, SUGGEST_THRESHOLD, Candidate, candidates  # noqa: E402
from maildesk.store.db import Store  # noqa: E402
from maildesk.store.migrate import upgrade  # noqa: E402
from tests.kb_labelled import ARTICLES, PAIRS, QUERIES, Query  # noqa: E402

LIMIT = 3  # suggestions a mail, as the acknowledgement shows them
# (weight of the mail's opening beside the subject, system check, chatty openings); the first is how
# suggestions were made before
WAYS = {
    "subject alone, no system check (before)": (0.0, False, False),
    "subject alone, system check": (0.0, True, False),
    "subject + opening at full weight, system check": (1.0, True, False),
    f"subject + opening at {BODY_WEIGHT}, no system check": (BODY_WEIGHT, False, False),
    f"subject + opening at {BODY_WEIGHT}, system check (the desk's)": (BODY_WEIGHT, True, False),
    "the desk's, every opening wrapped in a greeting, a name and thanks": (BODY_WEIGHT, True, True),
}


def chatty(body: str) -> str:
    """An opening as a hurried colleague writes it, around the words that matter."""
    return f"您好，我是销售部的同事。{body}，麻烦尽快处理，谢谢！"


def ranked(store: Store, body_weight: float, padded: bool) -> dict[str, list[Candidate]]:
    with store.session() as s:
        return {q.subject: candidates(s, q.subject, chatty(q.body) if padded else q.body, body_weight=body_weight)
                for q in QUERIES}


def chosen(found: list[Candidate], bar: float, check: bool) -> list[str]:
    return [c.title for c in found if c.score >= bar and (c.same_system or not check)][:LIMIT]


def measure(found: dict[str, list[Candidate]], bar: float, check: bool) -> tuple[int, float, float, int]:
    """(suggested, precision, recall, mails with a wrong suggestion)."""
    relevant = {(q.subject, t) for q in QUERIES for t in q.relevant}
    suggested = {(q.subject, t) for q in QUERIES for t in chosen(found[q.subject], bar, check)}
    hits = len(suggested & relevant)
    precision = hits / len(suggested) if suggested else 1.0
    recall = hits / len(relevant)
    wrong = len({subject for subject, t in suggested - relevant})
    return len(suggested), precision, recall, wrong


def show(found: dict[str, list[Candidate]], bar: float, check: bool, queries: list[Query]) -> None:
    for q in queries:
        got = chosen(found[q.subject], bar, check)
        wrong = [t for t in got if t not in q.relevant]
        missed = [t for t in q.relevant if t not in got]
        if wrong or missed:
            scored = {c.title: f"{c.score:.2f}{'' if c.same_system else ' other system'}" for c in found[q.subject]}
            print(f"    {q.subject!r}: wrong {[(t, scored[t]) for t in wrong]} missed "
                  f"{[(t, scored.get(t, '-')) for t in missed]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", default="0.25,0.3,0.33,0.35,0.38,0.4,0.45,0.5")
    parser.add_argument("--show", type=float, default=SUGGEST_THRESHOLD)
    args = parser.parse_args()
    bars = [float(b) for b in args.bars.split(",")]
    relevant = sum(1 for *_x, r in PAIRS if r)
    print(f"labelled set: {len(QUERIES)} mails, {len(ARTICLES)} articles, {len(PAIRS)} labelled pairs "
          f"({relevant} relevant); the desk's bar: {SUGGEST_THRESHOLD}")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'kb.db'}")
        upgrade(store)
        with store.session() as s:
            for title, problem, solution, tags in ARTICLES:
                create_article(s, title=title, problem=problem, solution=solution, tags=tags, now=datetime.now(UTC))
        for way, (body_weight, check, padded) in WAYS.items():
            found = ranked(store, body_weight, padded)
            print(f"\n{way}\n  bar   suggested  precision  recall    F1   mails with a wrong article")
            for bar in bars:
                n, p, r, wrong = measure(found, bar, check)
                f1 = 2 * p * r / (p + r) if p + r else 0.0
                print(f"  {bar:4.2f}  {n:9d}  {p:9.3f}  {r:6.3f}  {f1:5.3f}  {wrong:3d}")
            print(f"  at {args.show}:")
            show(found, args.show, check, QUERIES)
        store.close()


if __name__ == "__main__":
    main()
