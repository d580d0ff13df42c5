"""The CLI's error boundary (``emulator/cli/boundary.py``) and the memory guard (``emulator.errors``):
one line for every way a command can end badly, and the size limit with its override."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import warnings

import pytest

from emulator import DEMO_MODEL
from emulator.cli import main
from emulator.errors import DEFAULT_LIMIT, MEMORY_LIMIT_ENV, InputError, check_size, memory_limit

cli_main = sys.modules["emulator.cli.main"]


def test_a_bad_command_line_is_one_line_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "--mode", "asynch", "--model", "m.nir", "--out", "o"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("snnemu: error: snnemu run: --mode: invalid choice: 'asynch' (choose from "
                                       "'timestep', 'layered', 'async') (see snnemu run --help)\n")


@pytest.mark.parametrize("flags, message", [
    (["--queue", "fifo"], "--queue: queue: applies only with --mode async, not layered"),
    (["--mode", "timestep", "--no-refractory"], "--no-refractory: refractory: applies only with --mode async"),
    (["--engine", "functional", "--noc", "analytic"], "--noc: noc: applies only with --engine chip"),
    (["--engine", "functional", "--mapping", "spread:2"], "--mapping: mapping: applies only with --engine chip"),
])
def test_a_flag_the_run_would_ignore_is_refused_even_at_its_default(flags, message, capsys, tmp_path):
    assert main(["run", "--model", str(DEMO_MODEL), *flags, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"snnemu: error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_bug_is_one_line_with_its_traceback_saved(monkeypatch, capsys, tmp_path):
    def broken(args):
        raise RuntimeError("an internal\ninvariant")

    monkeypatch.setattr(cli_main, "_cmd_hw", broken)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["hw", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("snnemu: internal error (a bug, please report it): "
                                                   "RuntimeError: an internal invariant; its traceback is in ")
    saved = list(tmp_path.glob("snnemu-bug-*.txt"))
    assert len(saved) == 1 and str(saved[0]) in err
    assert "Traceback" in saved[0].read_text() and "in broken" in saved[0].read_text()


def test_a_library_warning_is_one_line(monkeypatch, capsys):
    def noisy(args):
        warnings.warn("overflow\n  encountered in   exp", RuntimeWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli_main, "_cmd_hw", noisy)
    assert main(["hw", "list"]) == 0
    assert capsys.readouterr().err == "snnemu: warning: RuntimeWarning: overflow encountered in exp\n"


def test_a_closed_pipe_ends_quietly_as_sigpipe_would():
    proc = subprocess.Popen([sys.executable, "-m", "emulator.cli", "hw", "show", "truenorth"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before snnemu writes (it takes a second to import)
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == 141 and err == ""


def test_the_memory_limit_and_its_override(monkeypatch):
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    assert memory_limit() == DEFAULT_LIMIT == 8 * 2**30
    for text, limit in (("64GiB", 64 * 2**30), ("500 MB", 500e6), ("1e3", None), ("none", float("inf")),
                        ("12345", 12345)):
        monkeypatch.setenv(MEMORY_LIMIT_ENV, text)
        if limit is None:
            with pytest.raises(InputError, match="SNNEMU_MAX_MEMORY: value: '1e3': expected bytes"):
                memory_limit()
        else:
            assert memory_limit() == limit
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GiB")
    check_size("net.nir", "nodes.conv", 2**30, "its synapses")  # at the limit: allowed
    with pytest.raises(InputError) as exc:
        check_size("net.nir", "nodes.conv", 2**30 + 1, "its synapses")
    assert str(exc.value) == ("net.nir: nodes.conv: its synapses would take 1 GiB, more than the limit of 1 GiB "
                              "(set SNNEMU_MAX_MEMORY, e.g. SNNEMU_MAX_MEMORY=64GiB, if the machine has the memory)")
