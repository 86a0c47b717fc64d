"""``bruno-hil characterize``: JSON output, output folders, and user errors (exit 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from cli_run import run_cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``bruno-hil characterize ...`` in this process: (exit code, stdout, stderr)."""
    return run_cli(capsys, "characterize", *args)


def test_fecap_json_prints_the_figures_last(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "fecap", "--json", "--amplitude-V", "3.5", "--no-pund")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    figures = result["figures"]
    assert result["device"] == "fecap" and result["chip"] == "ngspice"
    assert figures["amplitude_V"] == 3.5
    # the plates see k*P_s, k = 0.905 the stack's charge fraction (0.22 before it)
    assert figures["p_r_pos_C_per_m2"] == pytest.approx(0.905 * 0.22, rel=0.03)
    assert figures["e_c_neg_V_per_m"] < 0 < figures["e_c_pos_V_per_m"]
    assert figures["loop_area_J_per_m3"] > 0
    assert not any(k.startswith("pund_") for k in figures)


def test_fecap_out_writes_si_csv_and_pngs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "fe"
    code, out, _ = _run(
        capsys,
        "fecap",
        "--out",
        str(out_dir),
        "--param",
        "p_s_C_per_m2=0.2",
        "--frequency-Hz",
        "1e4",
    )
    assert code == 0
    assert "p_r_pos_C_per_m2" in out  # the human table
    loop = pd.read_csv(out_dir / "fecap_loop.csv")
    assert set(loop.columns) >= {
        "time_s",
        "voltage_V",
        "current_A",
        "charge_C",
        "polarization_C_per_m2",
        "field_V_per_m",
    }
    assert loop["time_s"].iloc[-1] == pytest.approx(2e-4)  # 2 periods at 10 kHz
    assert loop["polarization_C_per_m2"].abs().max() > 0.2  # the override reached the model
    pund = pd.read_csv(out_dir / "fecap_pund.csv")
    assert {"time_s", "voltage_V", "charge_C"} <= set(pund.columns)
    for png in ("fecap_pe_loop.png", "fecap_pund.png"):
        assert (out_dir / png).read_bytes()[:8] == PNG_MAGIC
    saved = json.loads((out_dir / "fecap_figures.json").read_text())
    assert saved["params"]["p_s_C_per_m2"] == 0.2
    assert saved["figures"]["p_s_C_per_m2"] == pytest.approx(0.905 * 0.2, rel=0.03)  # k*P_s


def test_rram_json_and_out(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(
        capsys,
        "rram",
        "--json",
        "--out",
        str(tmp_path),
        "--v-min-V",
        "-1.2",
        "--n-pulses",
        "6",
        "--compliance-A",
        "5e-5",
    )
    assert code == 0
    figures = json.loads(out.strip().splitlines()[-1])["figures"]
    assert figures["v_min_V"] == -1.2 and figures["n_pulses"] == 6
    assert figures["on_off_ratio"] > 10
    assert figures["v_set_V"] > 0 > figures["v_reset_V"]
    assert 2 <= figures["levels"] <= 7
    iv = pd.read_csv(tmp_path / "rram_iv.csv")
    assert {"voltage_V", "current_A"} <= set(iv.columns)
    assert iv["voltage_V"].min() == pytest.approx(-1.2)
    assert iv["current_A"].abs().max() <= 5e-5 * (1 + 1e-6)
    pulses = pd.read_csv(tmp_path / "rram_pulses.csv")
    assert {"pulse", "amplitude_V", "read_current_A", "conductance_S"} <= set(pulses.columns)
    assert len(pulses) == 1 + 2 * 6
    for png in ("rram_iv.png", "rram_conductance.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC


def test_rram_iv_only_without_pulses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``--n-pulses 0``: the I-V sweep alone, as a plain SMU can run it."""
    args = ["rram", "--json", "--out", str(tmp_path), "--n-pulses", "0"]
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["figures"]["v_set_V"] > 0 > report["figures"]["v_reset_V"]
    assert "n_pulses" not in report["figures"] and "levels" not in report["figures"]
    assert sorted(Path(f).name for f in report["files"]) == [
        "rram_figures.json",
        "rram_iv.csv",
        "rram_iv.png",
    ]


def test_help_texts_name_what_the_command_takes(capsys: pytest.CaptureFixture[str]) -> None:
    def flat(text: str) -> str:  # without the spaces and frames of rich's wrapping
        return re.sub(r"[\s│]+", "", text)

    code, out, _ = _run(capsys, "rram", "--help")
    assert code == 0 and "--paramgamma=15(rram)" in flat(out)
    code, out, _ = run_cli(capsys, "calibrate", "fecap", "--help")
    assert code == 0 and "(default:p_s_C_per_m2,e_a_V_per_m," in flat(out)
    assert "see --help" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fecap", "--param", "nope=1"], "'nope'"),
        (["rram", "--param", "nope=1"], "'nope'"),
        (["fecap", "--param", "p_s_C_per_m2=50"], "outside its physical range"),
        (["fecap", "--param", "v_thr_V=1\n.control\nshell rm -rf /"], "is not a number"),
        (["fecap", "--param", "p_s_C_per_m2"], "expected name=value"),
        (["rram", "--chip", "bogus"], "unknown chip"),
        (["fecap", "--chip", "visa://GPIB0::22::INSTR"], "GPIB0::22::INSTR: cannot open"),
        (["rram", "--v-min-V", "1.0"], "must be < 0"),
        (["fecap", "--amplitude-V", "0"], "amplitude_V"),
        (
            ["fecap", "--chip", "visa://garbage"],
            "'garbage' is not a VISA resource name (Could not parse garbage: unknown interface"
            " type); expected e.g. TCPIP0::127.0.0.1::5025::SOCKET",
        ),
    ],
)
def test_user_errors_exit_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *args, "--out", str(tmp_path / "x"))
    assert code == 2
    assert message in err and err.startswith("bruno-hil: error:")
    assert "Traceback" not in err
    written = list((tmp_path / "x").rglob("*")) if (tmp_path / "x").exists() else []
    assert written == []  # nothing was written (--out may exist: it is checked first)


def test_bogus_chip_lists_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "fecap", "--chip", "bogus")
    assert code == 2 and "ngspice" in err and "visa://" in err
