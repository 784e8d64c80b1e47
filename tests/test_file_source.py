"""Mail from files: .eml files are read and left alone; a Maildir's processed mail is moved aside."""

from __future__ import annotations

import logging
import mailbox
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from maildesk.ingest.file_source import (
    EmlFiles,
    MaildirSource,
    MailPathError,
    MultiSource,
    file_source_id,
    open_paths,
)


def chinese_mail(n: int) -> bytes:
    """A small request in Chinese, numbered so order and identity can be checked."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "李娜 <li.na@example.cn>"
    msg["Subject"] = f"VPN 连不上 第{n}封"
    msg["Message-ID"] = f"<vpn-{n}@example.cn>"
    msg.set_content(f"早上开始 VPN 一直提示认证失败。编号 {n}\n", charset="gbk")
    return msg.as_bytes()


def make_maildir(root: Path, new: list[str], cur: list[str]) -> Path:
    """A Maildir whose new/ and cur/ hold messages under the given file names, numbered in list order."""
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n, name in enumerate(new):
        (root / "new" / name).write_bytes(chinese_mail(n))
    for n, name in enumerate(cur, start=len(new)):
        (root / "cur" / name).write_bytes(chinese_mail(n))
    return root


def write_emls(folder: Path, count: int) -> list[Path]:
    """`count` .eml files named so that their names sort in their number order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{n:03d}-请求.eml" for n in range(count)]
    for n, path in enumerate(paths):
        path.write_bytes(chinese_mail(n))
    return paths


class Sleeps:
    """A sleep that records its calls and runs an action instead of sleeping."""

    def __init__(self, action: object = None) -> None:
        self.calls: list[float] = []
        self.action = action

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if callable(self.action):
            self.action()


def test_eml_files_are_read_in_order_and_never_touched(tmp_path: Path) -> None:
    """.eml files come out in the given order with path+hash ids; done or quarantined, they stay as they were."""
    paths = write_emls(tmp_path, 3)
    source = EmlFiles(paths)
    messages = source.fetch_batch(2) + source.fetch_batch(2)
    assert [m.raw for m in messages] == [chinese_mail(n) for n in range(3)]
    assert messages[0].source_id == file_source_id(paths[0].absolute(), chinese_mail(0))
    assert messages[0].source_id.startswith(f"file:{paths[0].absolute()}:")
    source.mark_done([messages[0].source_id])
    source.quarantine(messages[1].source_id, "乱码")
    assert [p.read_bytes() for p in paths] == [chinese_mail(n) for n in range(3)]
    assert sorted(tmp_path.iterdir()) == paths


def test_eml_files_not_done_come_back_in_the_next_pass(tmp_path: Path) -> None:
    """Within a pass each file is offered once; after wait_for_mail only files not done are offered again."""
    paths = write_emls(tmp_path, 3)
    source = EmlFiles(paths, sleep=Sleeps())
    first = source.fetch_batch(10)
    assert source.fetch_batch(10) == []
    source.mark_done([first[0].source_id])
    source.quarantine(first[2].source_id, "附件损坏")
    source.wait_for_mail(1)
    assert source.fetch_batch(10) == [first[1]]


def test_unreadable_eml_file_is_skipped_and_the_rest_still_come(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A missing file is logged and skipped; it does not stop the others."""
    paths = write_emls(tmp_path, 2)
    paths[0].unlink()
    with caplog.at_level(logging.ERROR):
        messages = EmlFiles(paths).fetch_batch(10)
    assert [m.raw for m in messages] == [chinese_mail(1)]
    assert str(paths[0]) in caplog.text


def test_maildir_reads_new_then_cur_in_delivery_order(tmp_path: Path) -> None:
    """new/ comes first, then cur/, each in file-name (delivery) order, in batches."""
    root = make_maildir(tmp_path / "md", new=["1700000002.b", "1700000001.a"], cur=["1600000000.c:2,S"])
    source = MaildirSource(root)
    messages = source.fetch_batch(2) + source.fetch_batch(2)
    assert [m.raw for m in messages] == [chinese_mail(1), chinese_mail(0), chinese_mail(2)]
    assert messages[0].source_id.startswith(f"file:{root.absolute()}/new/1700000001.a:")


def test_maildir_mark_done_moves_into_processed_sub_maildir(tmp_path: Path) -> None:
    """Processed mail moves to .Processed/cur as seen, readable by any Maildir reader; a repeat is no error."""
    root = make_maildir(tmp_path / "md", new=["1700000001.a"], cur=["1700000000.b:2,"])
    source = MaildirSource(root)
    ids = [m.source_id for m in source.fetch_batch(10)]
    source.mark_done(ids)
    source.mark_done(ids)
    assert sorted(p.name for p in (root / ".Processed" / "cur").iterdir()) == ["1700000000.b:2,", "1700000001.a:2,S"]
    assert list((root / "new").iterdir()) == [] and list((root / "cur").iterdir()) == []
    processed = mailbox.Maildir(root / ".Processed", create=False)
    assert sorted(m["Message-ID"] for m in processed) == ["<vpn-0@example.cn>", "<vpn-1@example.cn>"]
    assert (root / ".Processed" / "maildirfolder").exists()


def test_maildir_quarantine_moves_aside_and_keeps_the_reason(tmp_path: Path) -> None:
    """A quarantined mail moves to .Quarantine, its reason in a file there that Maildir readers ignore."""
    root = make_maildir(tmp_path / "md", new=["1700000001.a"], cur=[])
    source = MaildirSource(root, quarantine=".隔离")
    (message,) = source.fetch_batch(10)
    source.quarantine(message.source_id, "无法识别的字符集 x-unknown")
    cur = root / ".隔离" / "cur"
    assert (cur / "1700000001.a:2,S").read_bytes() == chinese_mail(0)
    assert (root / ".隔离" / "1700000001.a:2,S.reason").read_text(encoding="utf-8") == "无法识别的字符集 x-unknown\n"
    assert [m["Message-ID"] for m in mailbox.Maildir(root / ".隔离", create=False)] == ["<vpn-0@example.cn>"]
    assert list((root / "new").iterdir()) == []


def test_maildir_ignores_ids_of_other_places(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An id pointing outside the Maildir's new/ or cur/ is logged and nothing is moved."""
    root = make_maildir(tmp_path / "md", new=["1700000001.a"], cur=[])
    outside = tmp_path / "secret.eml"
    outside.write_bytes(b"x")
    with caplog.at_level(logging.WARNING):
        MaildirSource(root).mark_done([file_source_id(outside, b"x"), "imap:x@y/INBOX;UIDVALIDITY=1;UID=1"])
    assert outside.exists()
    assert "left alone" in caplog.text


def test_maildir_wait_returns_when_new_mail_is_delivered(tmp_path: Path) -> None:
    """wait_for_mail polls new/ and returns as soon as a new file shows up, not at the timeout."""
    root = make_maildir(tmp_path / "md", new=["1700000001.a"], cur=[])

    def deliver() -> None:
        (root / "new" / "1700000009.z").write_bytes(chinese_mail(9))

    sleeps = Sleeps(action=deliver)
    source = MaildirSource(root, sleep=sleeps)
    assert len(source.fetch_batch(10)) == 1
    source.wait_for_mail(60)
    assert sleeps.calls == [1.0]
    assert [m.raw for m in source.fetch_batch(10)] == [chinese_mail(0), chinese_mail(9)]


def test_a_folder_without_cur_and_new_is_not_a_maildir(tmp_path: Path) -> None:
    """MaildirSource refuses a plain folder with an error that names it."""
    with pytest.raises(MailPathError, match="not a Maildir"):
        MaildirSource(tmp_path)


def test_open_paths_picks_the_source_for_each_path(tmp_path: Path) -> None:
    """A Maildir, a folder of .eml files and loose files together read as one source, in the given order."""
    root = make_maildir(tmp_path / "md", new=["1700000001.a"], cur=[])
    emls = write_emls(tmp_path / "exported", 2)
    (tmp_path / "exported" / "readme.txt").write_text("not mail")
    loose = write_emls(tmp_path / "loose", 1)
    assert isinstance(open_paths([root]), MaildirSource)
    assert isinstance(open_paths([tmp_path / "exported"]), EmlFiles)
    source = open_paths([tmp_path / "exported", root, *loose])
    assert isinstance(source, MultiSource)
    messages = source.fetch_batch(10)
    assert [m.source_id.split(":")[1] for m in messages] == [
        str(emls[0].absolute()),
        str(emls[1].absolute()),
        str((root / "new" / "1700000001.a").absolute()),
        str(loose[0].absolute()),
    ]
    source.mark_done([m.source_id for m in messages])
    assert (root / ".Processed" / "cur" / "1700000001.a:2,S").exists()
    assert all(path.exists() for path in emls + loose)


def test_open_paths_refuses_a_missing_path(tmp_path: Path) -> None:
    """A path that does not exist fails early with its name in the message."""
    with pytest.raises(MailPathError, match="nowhere"):
        open_paths([tmp_path / "nowhere"])


def _sized(folder: Path, sizes: list[int]) -> list[Path]:
    """Files of the given sizes, named in order (padding after the headers, so they stay mail)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, size in enumerate(sizes):
        head = chinese_mail(n)
        path = folder / f"{n:03d}.eml"
        path.write_bytes(head + b"x" * (size - len(head)))
        paths.append(path)
    return paths


def test_eml_batches_are_bounded_by_bytes_and_a_big_file_comes_alone(tmp_path: Path) -> None:
    """With 10 kB a batch: 4+4 kB together, then a 30 kB file alone, then the rest; none twice, none lost."""
    paths = _sized(tmp_path, [4_000, 4_000, 4_000, 30_000, 2_000, 2_000])
    source = EmlFiles(paths)
    batches = [source.fetch_batch(100, max_bytes=10_000) for _ in range(5)]
    assert [len(b) for b in batches] == [2, 1, 1, 2, 0]
    assert [len(m.raw) for m in batches[2]] == [30_000]
    assert [m.raw for b in batches for m in b] == [p.read_bytes() for p in paths]


def test_maildir_batches_are_bounded_by_bytes(tmp_path: Path) -> None:
    """A Maildir hands out what fits in the byte bound, judged by file size before reading."""
    root = make_maildir(tmp_path / "md", [], [])
    for n, path in enumerate(_sized(tmp_path / "files", [6_000, 6_000, 6_000, 1_000])):
        path.rename(root / "new" / f"1700000000.{n}.host")
    source = MaildirSource(root)
    assert [len(source.fetch_batch(100, max_bytes=12_000)) for _ in range(3)] == [2, 2, 0]


def test_several_sources_share_one_byte_bound(tmp_path: Path) -> None:
    """Across .eml files and a Maildir the bound holds for the batch as a whole."""
    emls = _sized(tmp_path / "a", [5_000, 5_000])
    root = make_maildir(tmp_path / "md", [], [])
    for n, path in enumerate(_sized(tmp_path / "b", [5_000, 5_000])):
        path.rename(root / "new" / f"1700000000.{n}.host")
    source = MultiSource([EmlFiles(emls), MaildirSource(root)])
    assert [len(source.fetch_batch(100, max_bytes=10_000)) for _ in range(3)] == [2, 2, 0]
