"""``celebamat push-to-hub``: argument parsing, confirmation of public pushes, and what it prints."""

from __future__ import annotations

import argparse

import pytest
from hub_tokens import TOKEN_ALICE
from tiny_dataset import published_files

from celebamat.commands import hub as hub_command
from celebamat.errors import CelebAMatError


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="celebamat")
    hub_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["push-to-hub", *argv])


def test_defaults_are_private_main_and_no_token():
    args = parse(["out/ds", "--repo-id", "me/ds"])
    assert (args.dir, args.repo_id, args.public, args.revision, args.token, args.yes) == (
        "out/ds", "me/ds", False, None, None, False)


def test_private_and_public_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        parse(["out/ds", "--repo-id", "me/ds", "--private", "--public"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_push_prints_url_and_load_line_never_the_token(hub, tiny_dataset, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    args = parse([str(tiny_dataset), "--repo-id", "alice/ds", "--token", TOKEN_ALICE, "--commit-message", "v0.1"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert f"Dataset (private): {hub.url}/datasets/alice/ds" in out.out
    assert "ds = datasets.load_dataset('alice/ds')" in out.out
    assert f"Pushed {len(published_files(tiny_dataset))} file(s)" in out.out
    assert TOKEN_ALICE not in out.out + out.err
    assert hub.commits("alice/ds")[0].title == "v0.1"

    assert args.func(args) == 0
    assert "Nothing to push" in capsys.readouterr().out


def test_public_without_a_terminal_refuses_unless_yes(hub, tiny_dataset, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN_ALICE)
    args = parse([str(tiny_dataset), "--repo-id", "alice/ds", "--public"])
    with pytest.raises(CelebAMatError, match="--yes"):
        args.func(args)
    assert hub.state.requests == []

    args = parse([str(tiny_dataset), "--repo-id", "alice/ds", "--public", "--yes"])
    assert args.func(args) == 0
    assert hub.state.repos["alice/ds"].private is False
    captured = capsys.readouterr()
    assert "Dataset (public)" in captured.out and "may not be redistributed" in captured.err


def test_public_asks_on_a_terminal(hub, tiny_dataset, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN_ALICE)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    args = parse([str(tiny_dataset), "--repo-id", "alice/ds", "--public"])
    assert args.func(args) == 1
    assert "Not pushed" in capsys.readouterr().err and hub.state.requests == []


def _cli_env(hub, home) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(home), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
    return env


@pytest.mark.slow
def test_cli_push_as_a_new_user_then_the_printed_line_loads_it(hub, tiny_dataset, tmp_path):
    """`celebamat push-to-hub` in a fresh process, token from HF_TOKEN; then run the line it printed."""
    import subprocess
    import sys

    env = dict(_cli_env(hub, tmp_path / "home"), HF_TOKEN=TOKEN_ALICE)
    cmd = [sys.executable, "-m", "celebamat", "push-to-hub", str(tiny_dataset), "--repo-id", "alice/celebamat"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{hub.url}/datasets/alice/celebamat" in proc.stdout and TOKEN_ALICE not in proc.stdout + proc.stderr
    line = next(ln.strip() for ln in proc.stdout.splitlines() if "load_dataset(" in ln)
    assert line == "ds = datasets.load_dataset('alice/celebamat')"

    reader = tmp_path / "reader"
    code = f"import datasets\n{line}\nprint({{s: ds[s].num_rows for s in ds}}, ds['train'][0]['alpha'].mode)"
    read = subprocess.run([sys.executable, "-c", code], env=dict(env, HF_HOME=str(reader)), capture_output=True,
                          text=True, timeout=240)
    assert read.returncode == 0, read.stderr[-3000:]
    assert "{'train': 10, 'validation': 1, 'test': 1} L" in read.stdout

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0 and "no commit made" in again.stdout


def test_cli_rejected_token_exits_2_with_a_message_and_no_traceback(hub, tiny_dataset, tmp_path):
    import subprocess
    import sys

    bad = "hf_revoked_token_for_the_cli_test"
    cmd = [sys.executable, "-m", "celebamat", "push-to-hub", str(tiny_dataset), "--repo-id", "alice/ds",
           "--token", bad]
    proc = subprocess.run(cmd, env=_cli_env(hub, tmp_path / "home"), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2
    assert "error: the Hub at" in proc.stderr and "rejected the token" in proc.stderr
    assert "Traceback" not in proc.stderr and bad not in proc.stdout + proc.stderr
