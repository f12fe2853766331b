"""EdNet KT1 (data/ednet.py) on small folders of its layout made here: KT1/u<id>.csv, questions.csv."""
import os

import numpy as np
import pytest

import data
from data import DataError
from data import ednet
from tiny_runs import load_data

QUESTIONS_HEADER = "question_id,bundle_id,explanation_id,correct_answer,part,tags,deployed_at"
# question -> (correct answer, tags)
QUESTIONS = {"q1": ("a", "1;2"), "q2": ("b", "3"), "q10": ("c", "2;3;5"), "q3": ("d", "-1"), "q4": ("a", "5")}
KT1_HEADER = "timestamp,solving_id,question_id,user_answer,elapsed_time"


def write_questions(root, questions=QUESTIONS, lines=None):
    os.makedirs(os.path.join(str(root), "contents"), exist_ok=True)
    lines = lines if lines is not None else [
        "%s,b%d,e%d,%s,1,%s,1558093217098" % (q, i, i, answer, tags)
        for i, (q, (answer, tags)) in enumerate(sorted(questions.items()))]
    with open(os.path.join(str(root), "contents", "questions.csv"), "w") as handle:
        handle.write("\n".join([QUESTIONS_HEADER] + lines) + "\n")


def write_user(root, user, answers, header=KT1_HEADER, name=None):
    """answers: [(timestamp, question, user answer)] or raw lines (str)."""
    folder = os.path.join(str(root), "KT1")
    os.makedirs(folder, exist_ok=True)
    lines = [line if isinstance(line, str) else "%s,%d,%s,%s,25000" % (line[0], i + 1, line[1], line[2])
             for i, line in enumerate(answers)]
    with open(os.path.join(folder, name or "u%d.csv" % user), "w") as handle:
        handle.write("\n".join([header] + lines) + "\n")


def make_ednet(root, n_users=30, seed=0):
    """A folder like the real one: n_users students u1..u<n> answering the 5 questions in time order."""
    write_questions(root)
    rng = np.random.RandomState(seed)
    histories = {}
    for user in range(1, n_users + 1):
        history = [(1565096190868 + 1000 * t, str(rng.choice(sorted(QUESTIONS))), "abcd"[rng.randint(4)])
                   for t in range(rng.randint(3, 12))]
        write_user(root, user, history)
        histories[user] = history
    return histories


def load(root, **options):
    return load_data("ednet", str(root), **options)


def expected_answers(history):
    return [int(answer == QUESTIONS[question][0]) for _, question, answer in history]


def test_every_student_file_is_one_sequence_scored_by_the_answer_key(tmp_path):
    histories = make_ednet(tmp_path, n_users=30)
    dataset = load(tmp_path)
    sequences = dataset.train + dataset.valid + dataset.test
    assert sorted(seq.student for seq in sequences) == sorted("u%d" % user for user in histories)
    assert len(dataset.test) == 6 and len(dataset.valid) == 6  # TEST_FRACTION, VALID_FRACTION 0.2
    for seq in sequences:
        history = histories[int(seq.student[1:])]
        assert list(seq.answers) == expected_answers(history)
        assert [dataset.skill_ids[s] for s in seq.skills] == [question for _, question, _ in history]
    assert set(dataset.skill_ids) <= set(QUESTIONS) and dataset.n_skills == len(dataset.skill_ids)
    assert dataset.stats["rows"] == sum(len(h) for h in histories.values())
    # the split is the student-level split of the split seed, as for the other sources
    again = load(tmp_path)
    assert [seq.student for seq in again.test] == [seq.student for seq in dataset.test]
    other_seed = load(tmp_path, split_seed=1)
    assert [seq.student for seq in other_seed.test] != [seq.student for seq in dataset.test]


def test_answers_are_in_time_order_and_ties_keep_file_order(tmp_path):
    write_questions(tmp_path)
    # file order: t=30 (q1 right), t=10 (q2 wrong), t=20 (q4 right), t=20 (q10 right), t=10 (q3 right)
    write_user(tmp_path, 7, [(30, "q1", "a"), (10, "q2", "a"), (20, "q4", "a"), (20, "q10", "c"),
                             (10, "q3", "d")])
    dataset = load(tmp_path, split_design="holdout", valid_fraction=0.0, test_fraction=0.0)
    (seq,) = dataset.train
    assert [dataset.skill_ids[s] for s in seq.skills] == ["q2", "q3", "q4", "q10", "q1"]
    assert list(seq.answers) == [0, 1, 1, 1, 1]
    assert dataset.stats["students_reordered"] == 1


def test_tags_as_skills_follow_multi_skill(tmp_path):
    write_questions(tmp_path)
    # q1 has tags 1;2, q3 none (-1), q2 tag 3
    write_user(tmp_path, 1, [(1, "q1", "a"), (2, "q3", "d"), (3, "q2", "b")])
    split = dict(split_design="holdout", valid_fraction=0.0, test_fraction=0.0, ednet_skill="tags")

    def steps(multi_skill):
        dataset = load(tmp_path, multi_skill=multi_skill, **split)
        (seq,) = dataset.train
        return [dataset.skill_ids[s] for s in seq.skills], list(seq.answers), dataset

    skills, answers, dataset = steps("first")
    assert (skills, answers) == (["1", "3"], [1, 1])  # q1's first tag; q3 (no tag) dropped
    assert dataset.stats["untagged_rows"] == 1 and dataset.stats["multi_skill_attempts"] == 1
    assert steps("drop")[:2] == (["3"], [1])
    assert steps("expand")[:2] == (["1", "2", "3"], [1, 1, 1])
    assert load(tmp_path, **split).skill_ids == ["1", "3"]  # tags indexed by value


def test_min_interactions_and_the_student_cap(tmp_path):
    histories = make_ednet(tmp_path, n_users=12)
    sizes = dict(("u%d" % user, len(history)) for user, history in histories.items())
    kept = load(tmp_path, min_interactions=8, split_design="holdout", valid_fraction=0.0, test_fraction=0.0)
    assert sorted(seq.student for seq in kept.train) == sorted(s for s, n in sizes.items() if n >= 8)
    # the first N students by user id (u2 < u10 by number, not by text)
    everyone_trains = dict(split_design="holdout", valid_fraction=0.0, test_fraction=0.0)
    capped = load(tmp_path, ednet_max_students=3, **everyone_trains)
    assert sorted(seq.student for seq in capped.train) == ["u1", "u2", "u3"]
    assert capped.fingerprint != load(tmp_path, **everyone_trains).fingerprint
    with pytest.raises(DataError, match="ednet_max_students=-1 must be an integer >= 0"):
        load(tmp_path, ednet_max_students=-1)
    with pytest.raises(DataError, match="ednet_skill='problem'"):
        load(tmp_path, ednet_skill="problem")


def test_many_files_parsed_in_several_chunks_give_the_same_data(tmp_path, monkeypatch):
    make_ednet(tmp_path, n_users=40)
    whole = load(tmp_path)
    monkeypatch.setattr(ednet, "CHUNK_BYTES", 200)  # a chunk every few files
    chunked = load(tmp_path)
    assert whole.fingerprint == chunked.fingerprint
    for split in ("train", "valid", "test"):
        for a, b in zip(getattr(whole, split), getattr(chunked, split)):
            assert a.student == b.student and (a.skills == b.skills).all() and (a.answers == b.answers).all()


def test_crlf_blank_lines_empty_files_and_other_entries_are_tolerated(tmp_path):
    write_questions(tmp_path)
    write_user(tmp_path, 1, [(1, "q1", "a"), (2, "q2", "a")])
    folder = tmp_path / "KT1"
    with open(str(folder / "u2.csv"), "wb") as handle:
        handle.write(("%s\r\n1,1,q1,b,100\r\n\r\n2,2,q2,b,100" % KT1_HEADER).encode("ascii"))
    write_user(tmp_path, 3, [])  # header only
    (folder / "u4.csv").write_text("")
    (folder / "README.txt").write_text("not a student")
    dataset = load(tmp_path, split_design="holdout", valid_fraction=0.0, test_fraction=0.0)
    by_student = dict((seq.student, list(seq.answers)) for seq in dataset.train)
    assert by_student == {"u1": [1, 0], "u2": [0, 1]}
    assert dataset.stats["empty_files"] == 2 and dataset.stats["ignored_files"] == 1


@pytest.mark.parametrize("lines, where, message", [
    (["1565096190868,1,q1,a,100", "1565096191000,2,q99,b,100"], "u5.csv:3:17",
     "question_id 'q99' is not in the questions file"),
    (["1565096190868,1,q1,e,100"], "u5.csv:2:20", "user_answer 'e' is not one of a, b, c, d"),
    (["1565096190868,1,q1,,100"], "u5.csv:2:20", "user_answer '' is not one of a, b, c, d"),
    (["2019-08-06 12:00,1,q1,a,100"], "u5.csv:2:1", "timestamp '2019-08-06 12:00' is not an integer"),
    (["99999999999999999999,1,q1,a,100"], "u5.csv:2:1", "timestamp '99999999999999999999' is not an integer "
                                                         "of at most 64 bits"),
    (["1565096190868,1,q1,a"], "u5.csv:2:1", "4 fields, expected 5"),
    (["1565096190868,1,q1,a,100,7"], "u5.csv:2:1", "6 fields, expected 5"),
])
def test_a_bad_value_names_its_file_line_and_column(tmp_path, lines, where, message):
    make_ednet(tmp_path, n_users=4)
    write_user(tmp_path, 5, lines)
    write_user(tmp_path, 6, [(1, "q1", "a")])
    with pytest.raises(DataError) as error:
        load(tmp_path)
    text = str(error.value)
    assert os.path.join("KT1", where) in text and message in text


def test_bad_folders_and_answer_keys_say_how_to_fix_them(tmp_path):
    with pytest.raises(DataError, match=r"questions file not found: .*questions.csv\n.*bit.ly/ednet-content"):
        load(tmp_path)
    write_questions(tmp_path)
    with pytest.raises(DataError, match=r"KT1 folder not found: .*\n.*bit.ly/ednet-kt1.*EDNET_KT1_DIR"):
        load(tmp_path)
    os.makedirs(str(tmp_path / "KT1" / "KT1"))
    with pytest.raises(DataError, match=r"no u<user id>.csv files \(the folder holds 1 other entries, e.g. "
                                        r"KT1\)"):
        load(tmp_path)
    write_user(tmp_path, 1, [(1, "q1", "a")], header="timestamp,question_id,user_answer")
    with pytest.raises(DataError, match=r"u1.csv:1:1: the header is 'timestamp,question_id,user_answer'"):
        load(tmp_path)
    write_user(tmp_path, 1, [])
    with pytest.raises(DataError, match="student files hold no answers"):
        load(tmp_path)
    write_user(tmp_path, 1, [(1, "q1", "a")])
    write_questions(tmp_path, lines=["q1,b1,e1,x,1,1,0"])
    with pytest.raises(DataError, match=r"questions.csv:2:10: correct_answer 'x' is not one of a, b, c, d"):
        load(tmp_path)
    write_questions(tmp_path, lines=["q1,b1,e1,a,1,1;two,0"])
    with pytest.raises(DataError, match=r"questions.csv:2:14: tags '1;two' must be integers"):
        load(tmp_path)
    write_questions(tmp_path, lines=["q1,b1,e1,a,1,1,0", "q1,b1,e1,a,1,1,0"])
    with pytest.raises(DataError, match=r"questions.csv:3:1: repeated question_id 'q1'"):
        load(tmp_path)
    write_questions(tmp_path)
    write_user(tmp_path, 7, [(1, "q1", "a")], name="u07.csv")
    write_user(tmp_path, 7, [(2, "q2", "b")])
    with pytest.raises(DataError, match=r"u07.csv and u7.csv are both user 7"):
        load(tmp_path)


def test_the_data_cache_keys_on_every_student_file(tmp_path):
    folder, cache = tmp_path / "ednet", str(tmp_path / "cache")
    make_ednet(folder, n_users=10)
    first = load(folder, cache_dir=cache)
    second = load(folder, cache_dir=cache)
    assert "saved to the cache" in first.report[-1] and "from the cache" in second.report[-1]
    assert second.fingerprint == first.fingerprint
    write_user(folder, 3, [(1, "q1", "a"), (2, "q2", "b"), (3, "q4", "b")])  # one student's file changes
    third = load(folder, cache_dir=cache)
    assert "saved to the cache" in third.report[-1] and third.fingerprint != first.fingerprint
    (u3,) = [seq for seq in third.train + third.valid + third.test if seq.student == "u3"]
    assert list(u3.answers) == [1, 1, 0]


def test_ednet_is_a_registered_source_with_its_options():
    assert "ednet" in data.SOURCES
    for option in ednet.OPTIONS:
        assert option in data.DATA_OPTIONS
