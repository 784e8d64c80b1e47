"""Masking (脱敏) at the sizes it meets: a subject, a first mail, with directories of 12 to 10,000 names.

    python bench/masking.py [--rounds 2000]

Prints microseconds per text for the masking before this work (three regular expressions,
no names; measured in the same run as the baseline) and for ``Masker.text`` with the
directory's names, the ratio between them, and how long compiling a directory's names takes.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maildesk.masking import Masker  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美玉兰霞平刚桂红建国志文斌宇浩凯鹏飞晨欣怡佳雪梅琳"
LATIN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Tao", "Chao"]

SUBJECT = "回复: [TS-20261123-0007] 张伟：打印机卡纸，请回电 138-1234-5678 或 (010)62345678"
FIRST_MAIL = (
    "您好，我是财务部张伟。三楼打印机从今天早上开始一直卡纸，月底报表打印不出来，已经重启过两次，"
    "换了纸盒也不行，面板提示 E-202 错误。报销卡号 6222 0212 3456 7894，身份证 11010519491231002X，"
    "手机 １３９１２３４５６７８，私人邮箱 zhangwei.home@163.com，座机 0755-8888 6666 转 8021。"
    "The printer on floor 3 keeps jamming since this morning; error E-202 on the panel. "
) * 6  # about 2 KB, as much of a first mail as a KB article keeps
PLAIN_MAIL = re.sub(r"[0-9０-９]+|\S+@\S+", "", FIRST_MAIL)  # the same without any number or address

# the masking before this work, for the baseline
_OLD_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")
_OLD_LANDLINE = re.compile(r"(?<![0-9])(0[1-9][0-9]{1,2})[- ]([0-9]{3,4})[- ]?([0-9]{4})(?![0-9])")
_OLD_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def old_mask_text(text: str) -> str:
    text = _OLD_EMAIL.sub(lambda m: m.group(0).split("@")[0][:5] + "*@" + m.group(0).split("@")[1], text)
    text = _OLD_MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _OLD_LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


def names(count: int, rng: random.Random) -> list[str]:
    out = []
    for i in range(count):
        if i % 10 == 9:
            out.append(f"{rng.choice(LATIN)} {rng.choice(LATIN)}")
        else:
            out.append(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))))
    return out


def per_call_us(fn: Callable[[str], str], text: str, rounds: int) -> float:
    """Median over five runs of the mean microseconds per call."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            fn(text)
        runs.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"{'text':<24}{'directory':>10}{'before µs':>12}{'now µs':>10}{'ratio':>8}{'compile ms':>12}")
    texts = (("subject", SUBJECT, args.rounds), ("first mail, 42 values", FIRST_MAIL, max(1, args.rounds // 20)),
             ("first mail, none", PLAIN_MAIL, max(1, args.rounds // 20)))
    for label, text, rounds in texts:
        before = per_call_us(old_mask_text, text, rounds)
        for size in (12, 1000, 10000):
            people = names(size, rng)
            started = time.perf_counter()
            masker = Masker(people)
            compile_ms = (time.perf_counter() - started) * 1000
            masker.text(text)  # the pattern's first use
            now = per_call_us(lambda t, m=masker: m.text(t, ("张伟",)), text, rounds)
            print(f"{label:<24}{size:>10,}{before:>12.1f}{now:>10.1f}{now / before:>8.1f}{compile_ms:>12.1f}")


if __name__ == "__main__":
    main()
