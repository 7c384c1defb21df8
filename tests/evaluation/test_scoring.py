"""Reading prediction files, and scoring a peer's real MEGC2019 logs against its published figures."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest

from lfd_tcmen.core.errors import LFDError
from lfd_tcmen.evaluation.metrics import macro_precision, summarize
from lfd_tcmen.evaluation.scoring import (
    detect_format,
    infer_megc2019_dataset,
    read_megc2019_log,
    read_prediction_file,
    read_predictions_csv,
    read_python_log,
    score_file,
)

# STSTNet (Liong et al., FG 2019), composite / SMIC / CASME II / SAMM. UF1: the paper's table
# (also listed per dataset by paperswithcode-style leaderboards); "UAR": the paper's abstract
# ("UAR recognition results of 76.05%, 70.13%, 86.86% and 68.10% in composite, SMIC, CASME II
# and SAMM"), and the README of github.com/christy1206/STSTNet.
STSTNET_UF1 = {"overall": 0.7353, "smic": 0.6801, "casme2": 0.8382, "samm": 0.6588}
STSTNET_PUBLISHED_UAR = {"overall": 0.7605, "smic": 0.7013, "casme2": 0.8686, "samm": 0.6810}


@pytest.fixture(scope="module")
def peer_logs(shared_data):
    return shared_data / "peer_logs"


def _gt_rows(shared_data):
    """The official challenge ground truth: (dataset, subject, clip, label)."""
    with open(shared_data / "megc2019_composite" / "combined_3class_gt.csv", newline="") as f:
        return [(d, s, c, int(label)) for d, s, c, label in csv.reader(f)]


def _norm_subject(dataset, subject):
    return subject.zfill(3) if dataset == "samm" else subject  # the GT file writes SAMM 006 as 6


# --- real peer logs --------------------------------------------------------------------------


def test_ststnet_matlab_log_reproduces_published_uf1(peer_logs):
    path = peer_logs / "STSTNet_logfile.txt"
    assert detect_format(path) == "megc2019"
    table, predictions = score_file(path)
    assert table["overall"]["n"] == 442
    assert {k: v["n"] for k, v in table["per_dataset"].items()} == {"casme2": 145, "smic": 164, "samm": 133}
    assert round(table["overall"]["uf1"], 4) == STSTNET_UF1["overall"]
    for name in ("smic", "casme2", "samm"):
        assert round(table["per_dataset"][name]["uf1"], 4) == STSTNET_UF1[name], name
    assert predictions.notes == []


def test_ststnet_published_uar_is_macro_precision(peer_logs):
    """The README's claim, checked: STSTNet's published "UAR" figures are macro precision,
    not the MEGC2019 UAR (mean per-class recall), overall and on every dataset."""
    rows = read_megc2019_log(peer_logs / "STSTNet_logfile.txt").rows
    groups = {
        "overall": rows,
        **{d: [r for r in rows if r["dataset"] == d] for d in ("smic", "casme2", "samm")},
    }
    for name, group in groups.items():
        t = [r["label"] for r in group]
        p = [r["pred"] for r in group]
        assert round(macro_precision(t, p), 4) == STSTNET_PUBLISHED_UAR[name], name
        true_uar = summarize(t, p)["uar"]
        assert abs(true_uar - STSTNET_PUBLISHED_UAR[name]) > 0.015, name
    overall = summarize([r["label"] for r in rows], [r["pred"] for r in rows])
    assert round(overall["uar"], 4) == 0.7186
    assert round(overall["accuracy"], 4) == 0.7692


def test_ststnet_matlab_log_ground_truth_is_the_official_one(peer_logs, shared_data):
    rows = read_megc2019_log(peer_logs / "STSTNet_logfile.txt").rows
    logged = [(r["dataset"], r["subject"], r["sample"], r["label"]) for r in rows]
    official = [(d, _norm_subject(d, s), c, label) for d, s, c, label in _gt_rows(shared_data)]
    assert logged == official


def test_ststnet_python_log_matches_its_own_printed_scores(peer_logs):
    """Recompute the log's running "UF1 | UAR" after every subject (STSTNet's main.py pools all
    subjects so far). This pins the 0/0 conventions: its UF1 counts a predicted-but-never-true
    class with F1 = 0 (as ours does) and its UAR turns such a class into nan (ours leaves it out)."""
    path = peer_logs / "STSTNet_python_logfile.txt"
    assert detect_format(path) == "python-log"
    predictions = read_python_log(path)
    printed = re.findall(r"UF1: ([0-9.]+) \| UAR: ([0-9.]+|nan)", path.read_text())
    subjects = list(dict.fromkeys(r["subject"] for r in predictions.rows))
    assert len(subjects) == 68 and len(printed) == 69  # one line per subject + the final one
    checked_uar = 0
    for i, (uf1_text, uar_text) in enumerate(printed[:-1]):
        so_far = [r for r in predictions.rows if r["subject"] in subjects[: i + 1]]
        scores = summarize([r["label"] for r in so_far], [r["pred"] for r in so_far])
        assert round(scores["uf1"], 4) == float(uf1_text), subjects[i]
        if uar_text != "nan":
            assert round(scores["uar"], 4) == float(uar_text), subjects[i]
            checked_uar += 1
    assert checked_uar >= 60
    table, _ = score_file(path)
    assert (round(table["overall"]["uf1"], 4), round(table["overall"]["uar"], 4)) == (0.7209, 0.725)
    assert table["overall"]["n"] == 442


def test_ststnet_python_log_datasets_agree_with_official_ground_truth(peer_logs, shared_data):
    predictions = read_python_log(peer_logs / "STSTNet_python_logfile.txt")
    assert any("inferred" in note for note in predictions.notes)
    official: dict[tuple[str, str], Counter] = {}
    for d, s, _, label in _gt_rows(shared_data):
        official.setdefault((d, _norm_subject(d, s)), Counter())[label] += 1
    logged: dict[tuple[str, str], Counter] = {}
    for r in predictions.rows:
        logged.setdefault((r["dataset"], r["subject"]), Counter())[r["label"]] += 1
    assert logged == official  # same subjects, same datasets, same labels per subject
    # the subject list shipped with STSTNet names the same 68 subjects
    names = (peer_logs / "video442subName.txt").read_text().split()
    assert sorted(names) == sorted(s for _, s in logged)


# --- formats and errors on small files --------------------------------------------------------


def test_infer_megc2019_dataset():
    assert [infer_megc2019_dataset(s) for s in ("sub01", "s3", "s20", "006", "sub1", "x7")] == [
        "casme2",
        "smic",
        "smic",
        "samm",
        None,
        None,
    ]


def test_predictions_csv(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "dataset,subject,sample,label,pred,prob\n"
        "casme2,sub01,EP02_01f,1,1,0.9\n"
        "\n"
        "samm,006,006_1_2,0,2,0.4\n"
        "samm,006,006_1_3,2,2,0.7\n"
    )
    assert detect_format(path) == "csv"
    predictions = read_prediction_file(path)
    assert predictions.format == "csv"
    assert [(r["dataset"], r["sample"], r["label"], r["pred"], r["line"]) for r in predictions.rows] == [
        ("casme2", "EP02_01f", 1, 1, 2),
        ("samm", "006_1_2", 0, 2, 4),
        ("samm", "006_1_3", 2, 2, 5),
    ]
    table, _ = score_file(path)
    assert table["overall"]["n"] == 3
    assert table["per_dataset"]["samm"]["accuracy"] == 0.5


@pytest.mark.parametrize(
    ("body", "row", "message"),
    [
        ("casme2,sub01,EP1,1,\n", 2, "missing pred"),
        ("casme2,sub01,EP1,1,1\ncasme2,sub01,EP2,x,1\n", 3, "label 'x' is not an integer"),
        ("casme2,sub01,EP1,1.5,1\n", 2, "label '1.5'"),
        ("casme2,,EP1,1,1\n", 2, "missing subject"),
        ("casme2,sub01,EP1,1\n", 2, "missing pred"),
    ],
)
def test_predictions_csv_bad_rows_name_file_and_row(tmp_path, body, row, message):
    path = tmp_path / "bad.csv"
    path.write_text("dataset,subject,sample,label,pred\n" + body)
    with pytest.raises(LFDError, match=re.escape(message)) as info:
        read_prediction_file(path)
    assert info.value.path == str(path) and info.value.row == row
    assert f"{path}, row {row}: " in str(info.value)


def test_predictions_csv_probabilities_when_asked_for_and_bad_ones_name_the_row(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "dataset,subject,sample,label,pred,p_negative,p_positive,fold\n"
        "casme2,sub01,EP1,1,1,0.250000,0.750000,casme2/sub01\n"
        "casme2,sub01,EP2,0,0,logit 3,-2,casme2/sub01\n"
    )
    with pytest.raises(LFDError, match=re.escape("p_negative 'logit 3' is not a number")) as info:
        read_predictions_csv(path, probabilities=True)
    assert info.value.row == 3
    assert "probs" not in read_predictions_csv(path).rows[1]  # scoring never reads them
    path.write_text(path.read_text().replace("logit 3,-2", "1.5,0"))
    with pytest.raises(LFDError, match="p_negative 1.5 is not a probability"):
        read_predictions_csv(path, probabilities=True)
    path.write_text(path.read_text().replace("1.5,0", "1,0"))
    rows = read_predictions_csv(path, probabilities=True).rows
    assert [(r["probs"], r["fold"]) for r in rows] == [
        ((0.25, 0.75), "casme2/sub01"),
        ((1.0, 0.0), "casme2/sub01"),
    ]


def test_predictions_csv_header_checks(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("subject,label,pred\nsub01,1,1\n")
    with pytest.raises(LFDError, match="lacks column.*dataset, sample") as info:
        read_prediction_file(path)
    assert info.value.row == 1
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(LFDError, match="header lacks 'label' and 'pred'"):
        detect_format(path)


def test_megc2019_log_format_and_errors(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("casme2 sub01\r\nEP02_01f 1 1\r\nEP19_05f 0 2\r\n\r\nsmic s01\r\ns01_ne_01 0 0\r\n")
    predictions = read_prediction_file(path)
    assert predictions.format == "megc2019"
    assert [(r["dataset"], r["subject"], r["sample"], r["line"]) for r in predictions.rows] == [
        ("casme2", "sub01", "EP02_01f", 2),
        ("casme2", "sub01", "EP19_05f", 3),
        ("smic", "s01", "s01_ne_01", 6),
    ]
    path.write_text("casme2 sub01\nEP02_01f 1 one\n")
    with pytest.raises(LFDError, match="prediction 'one'") as info:
        read_prediction_file(path)
    assert info.value.row == 2
    path.write_text("casme2 sub01\nEP02_01f 1 1 1\n")
    with pytest.raises(LFDError, match="got 4 fields"):
        read_prediction_file(path)
    path.write_text("casme2 sub01\n")
    with pytest.raises(LFDError, match="no prediction lines"):
        read_prediction_file(path)


def test_python_log_format_and_errors(tmp_path):
    path = tmp_path / "py.txt"
    path.write_text(
        "Subject: sub01 \nPredicted   : [0, 1] \nGround Truth: [0, 0] \nUF1: 0.5 | UAR: 0.5 \n"
        "Subject: s01 \nPredicted   : [2] \nGround Truth: [2] \nFinal Evaluation: \n"
    )
    predictions = read_prediction_file(path)
    assert [(r["dataset"], r["subject"], r["label"], r["pred"]) for r in predictions.rows] == [
        ("casme2", "sub01", 0, 0),
        ("casme2", "sub01", 0, 1),
        ("smic", "s01", 2, 2),
    ]
    path.write_text("Subject: alice\nPredicted : [0, 1]\nGround Truth: [0, 1]\n")
    predictions = read_prediction_file(path)
    assert predictions.rows[0]["dataset"] is None
    assert "overall score only" in predictions.notes[0]
    table, _ = score_file(path)
    assert table["per_dataset"] == {} and table["overall"]["n"] == 2
    path.write_text("Subject: sub01\nPredicted : [0, 1]\nGround Truth: [0]\n")
    with pytest.raises(LFDError, match="2 predictions but 1 ground-truth") as info:
        read_prediction_file(path)
    assert info.value.row == 1
    path.write_text("Subject: sub01\nPredicted : [0, 'a']\nGround Truth: [0, 1]\n")
    with pytest.raises(LFDError, match="Predicted is not a list") as info:
        read_prediction_file(path)
    assert info.value.row == 2


def test_score_file_checks_class_range(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("casme2 sub01\nEP1 0 0\nEP2 2 1\n")
    with pytest.raises(LFDError, match=r"label 2 of subject sub01 is not a class index in \[0, 2\)") as info:
        score_file(path, num_classes=2)
    assert info.value.row == 3
    table, _ = score_file(path, num_classes=4)
    assert table["overall"]["n"] == 2


def test_unrecognised_and_missing_files(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("sub01\nsub02\n")
    with pytest.raises(LFDError, match="unrecognised prediction file") as info:
        detect_format(path)
    assert info.value.row == 1
    with pytest.raises(LFDError, match="file not found"):
        score_file(tmp_path / "absent.csv")
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(LFDError, match="empty prediction file"):
        score_file(tmp_path / "empty.txt")


def test_a_log_line_without_a_prediction_is_refused_not_read_as_a_header(tmp_path):
    """Issue 13.2: 'EP19_05f 0' used to open a dataset named EP19_05f and drop the sample."""
    log = tmp_path / "log.txt"
    log.write_text("casme2 sub01\nEP02_01f 1 1\nEP19_05f 0\nsamm 006\n006_1_2 0 0\n")
    with pytest.raises(
        LFDError, match=r"log.txt, row 3: 'EP19_05f 0' has a video and a ground truth but no prediction"
    ):
        score_file(log)
    log.write_text("casme2 sub01\nEP02_01f 1 1\nsamm 006\n006_1_2 0 0\n")  # 'samm 006' stays a header
    assert score_file(log)[0]["per_dataset"]["samm"]["n"] == 1


def test_a_sample_listed_twice_is_refused_naming_both_rows(tmp_path):
    """Issue 13.3: a duplicated row used to be counted twice."""
    path = tmp_path / "p.csv"
    path.write_text("dataset,subject,sample,label,pred\nc,s1,a,0,0\nc,s1,b,1,1\nc,s1,a,0,0\n")
    with pytest.raises(
        LFDError, match=r"p.csv, row 4: sample a of subject s1 is listed twice \(rows 2 and 4\)"
    ):
        score_file(path)
    log = tmp_path / "log.txt"
    log.write_text("casme2 sub01\nEP02_01f 1 1\nEP02_01f 1 1\n")
    with pytest.raises(LFDError, match="listed twice"):
        score_file(log)


def test_classes_come_from_the_files_probability_columns_else_its_labels(tmp_path):
    """Issue 13.4: a label or prediction outside the class set used to change the scores silently."""
    path = tmp_path / "p.csv"
    head = "dataset,subject,sample,label,pred,p_negative,p_positive,p_surprise\n"
    path.write_text(head + "c,s1,a,0,0,.9,.05,.05\nc,s1,b,7,1,.1,.8,.1\n")
    with pytest.raises(
        LFDError, match=r"row 3: label 7 .* not a class index in \[0, 3\) \(the classes from its p_<class>"
    ):
        score_file(path)
    log = tmp_path / "log.txt"
    log.write_text("casme2 sub01\nEP02_01f 1 1\nEP02_02f 0 9\nEP02_03f 2 2\n")
    with pytest.raises(
        LFDError, match=r"row 3: pred 9 .* in \[0, 3\) \(the classes from the ground-truth labels"
    ):
        score_file(log)
    log.write_text("casme2 sub01\nEP02_01f 1 1\nEP02_02f 0 3\n")
    assert score_file(log, num_classes=4)[0]["overall"]["n"] == 2  # --num-classes admits a class no label has
