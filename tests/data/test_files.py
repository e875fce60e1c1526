"""Loading datasets from files: CSV, .npz, .npy pairs and image folders, and their errors."""

import re
import sys

import numpy as np
import pytest

from chainrule.data import targets
from chainrule.data.files import (
    is_data_path,
    load_csv,
    load_data_file,
    load_image_folder,
    load_npy,
    load_npz,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def iris(tmp_path):
    return write(tmp_path / "iris.csv", "length,width,species\n"
                                        "5.1,3.5,setosa\n"
                                        "6.3,2.9,virginica\n"
                                        "\n"
                                        "5.9,3.0,versicolor\n"
                                        "4.9,3.1,setosa\n")


# ---- CSV --------------------------------------------------------------------------------------
def test_csv_text_labels_are_classes_in_sorted_order(iris):
    x, y, info = load_csv(iris, target="species")
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(x.numpy(), [[5.1, 3.5], [6.3, 2.9], [5.9, 3.0], [4.9, 3.1]],
                               rtol=1e-6)
    assert y.numpy().tolist() == [0, 2, 1, 0]
    assert info["class_names"] == ["setosa", "versicolor", "virginica"]
    assert info["task"] == "classification" and info["num_classes"] == 3
    assert info["feature_names"] == ["length", "width"] and info["target"] == "species"


def test_csv_integer_labels_are_the_class_indices(tmp_path):
    path = write(tmp_path / "d.csv", "a,label\n0.5,2\n1.5,0\n2.5,2.0\n")
    _, y, info = load_csv(path, target="label")
    assert y.numpy().tolist() == [2, 0, 2]
    assert info["class_names"] == ["0", "1", "2"]
    negative = write(tmp_path / "n.csv", "a,label\n1,-1\n2,1\n3,-1\n")
    _, y, info = load_csv(negative, target="label")
    assert y.numpy().tolist() == [0, 1, 0] and info["class_names"] == ["-1", "1"]


def test_csv_regression_guessed_from_values_or_forced(tmp_path):
    path = write(tmp_path / "r.csv", "a,price\n1,2.5\n2,3.25\n3,1\n")
    _, y, info = load_csv(path, target="price")
    assert info["task"] == "regression" and info["class_names"] == [] and not info["num_classes"]
    assert y.dtype == np.float32 and y.shape == (3, 1)
    np.testing.assert_allclose(y.numpy()[:, 0], [2.5, 3.25, 1.0])
    many = write(tmp_path / "m.csv", "a,t\n" + "".join(f"{i},{i}\n" for i in range(21)))
    assert load_csv(many, target="t")[2]["task"] == "regression"  # 21 distinct integers
    assert load_csv(many, target="t", task="classification")[2]["num_classes"] == 21
    few = write(tmp_path / "f.csv", "a,t\n1,0\n2,1\n")
    _, y, info = load_csv(few, target="t", task="regression")
    assert y.dtype == np.float32 and info["task"] == "regression"


def test_csv_blank_lines_byte_order_mark_and_tabs(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_bytes("\ufeffa\tb\n\n1\t2\n3\t4\n\n".encode())
    x, y, info = load_data_file(path, target="b")
    assert x.numpy().tolist() == [[1.0], [3.0]] and y.numpy().tolist() == [2, 4]


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty (a CSV file needs a header row"),
    ("\n\n", "the file is empty"),
    ("a,b,c\n", "no data lines after the header ('a', 'b', 'c')"),
    ("a,b,c\n1,2,3\n4,5\n", "line 3 has 2 fields, expected 3 as in the header"),
    ("a,b,c\n1,2,3\n4,5,6,7\n", "line 3 has 4 fields, expected 3"),
    ("1,2,3\n4,5,6\n", "the first line holds only numbers; a CSV file needs a header row"),
    ("a,b,a\n1,2,3\n", "the header names column 'a' more than once"),
    ("a,b,c\n1,2,3\n4,five,6\n", "line 3, column 'b': 'five' is not a number"),
    ("a,b,c\n1,,3\n", "line 2, column 'b': '' is not a number (an empty field)"),
    ("a,b,c\n1,nan,3\n", "line 2, column 'b': 'nan' is not a finite float32 number"),
    ("a,b,c\n1,1e39,3\n", "line 2, column 'b': '1e39' is not a finite float32 number"),
])
def test_csv_errors_name_the_file_line_and_problem(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}")):
        load_csv(path, target="c")


def test_csv_target_errors_list_the_columns(iris, tmp_path):
    columns = "the columns are 'length', 'width', 'species'"
    with pytest.raises(ValueError, match=re.escape(f"{iris}: no column 'kind'; {columns}")):
        load_csv(iris, target="kind")
    with pytest.raises(ValueError, match=re.escape(f"name the target column (target=..., "
                                                   f"--target on the command line); {columns}")):
        load_csv(iris)
    with pytest.raises(ValueError, match=re.escape(f"{iris}: line 2, column 'species': "
                                                   "'setosa' is not a number")):
        load_csv(iris, target="species", task="regression")
    with pytest.raises(ValueError, match=re.escape("missing input column 'depth'; " + columns)):
        load_csv(iris, target="species", features=["length", "depth"])
    with pytest.raises(ValueError, match="task must be 'classification', 'regression'"):
        load_csv(iris, target="species", task="ranking")


def test_csv_known_classes_and_inputs_only(iris):
    _, y, info = load_csv(iris, target="species", class_names=["virginica", "setosa",
                                                                "versicolor"])
    assert y.numpy().tolist() == [1, 0, 2, 1]
    with pytest.raises(ValueError, match=re.escape(
            f"{iris}: line 3, column 'species': label 'virginica' is not one of the classes "
            "setosa, versicolor")):
        load_csv(iris, target="species", class_names=["setosa", "versicolor"])
    x, y, info = load_csv(iris, target="kind", features=["length", "width"],
                          require_targets=False)
    assert x.shape == (4, 2) and y is None and info["task"] is None
    x, y, _ = load_csv(iris, target="species", features=["width"], require_targets=False)
    assert x.shape == (4, 1) and y is not None


def test_test_file_read_like_its_training_file(iris, tmp_path):
    _, _, info = load_data_file(iris, target="species")
    test = write(tmp_path / "test.csv", "species,width,length,extra\nvirginica,1,2,x\n")
    x, y, test_info = load_data_file(test, like=info)
    assert x.numpy().tolist() == [[2.0, 1.0]]  # the training file's column order
    assert y.numpy().tolist() == [2] and test_info["class_names"] == info["class_names"]
    unlabelled = write(tmp_path / "new.csv", "length,width\n1,2\n")
    x, y, _ = load_data_file(unlabelled, like=info, require_targets=False)
    assert x.shape == (1, 2) and y is None


# ---- NumPy arrays -----------------------------------------------------------------------------
def test_npz_arrays_and_target_kinds(tmp_path):
    path = tmp_path / "d.npz"
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    np.savez(path, x=x, y=np.array([1, 0, 1], dtype=np.int32))
    xt, yt, info = load_npz(path)
    assert xt.dtype == np.float32 and yt.dtype == np.int64 and yt.shape == (3,)
    np.testing.assert_array_equal(xt.numpy(), x)
    assert info["class_names"] == ["0", "1"] and info["format"] == "npz"
    np.savez(path, x=x, y=np.array([0.0, 2.0, 1.0]))  # integral floats: classes
    assert load_npz(path)[1].numpy().tolist() == [0, 2, 1]
    np.savez(path, x=x, y=np.array([0.5, 2.0, 1.0]))
    _, yt, info = load_npz(path)
    assert info["task"] == "regression" and yt.shape == (3, 1) and yt.dtype == np.float32
    np.savez(path, x=x, y=np.ones((3, 2)))  # two targets per sample: regression
    assert load_npz(path)[1].shape == (3, 2)
    np.savez(path, x=x, y=np.array(["cat", "dog", "cat"]))
    _, yt, info = load_npz(path)
    assert yt.numpy().tolist() == [0, 1, 0] and info["class_names"] == ["cat", "dog"]
    np.savez(path, x=np.arange(3))  # 1-D x: one feature; no y when none is required
    xt, yt, _ = load_npz(path, require_targets=False)
    assert xt.shape == (3, 1) and yt is None


def test_npz_errors(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, inputs=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: expected arrays 'x' (inputs) and 'y' (targets); the archive holds "
            "'inputs', 'labels'")):
        load_npz(path)
    np.savez(path, x=np.zeros((3, 2)), y=np.zeros(2))
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: array 'x' holds 3 samples but {path}: array 'y' holds 2")):
        load_npz(path)
    np.savez(path, x=np.array([[1.0], [np.nan]]), y=np.zeros(2))
    with pytest.raises(ValueError, match=r"array 'x' holds NaN or infinite values \(first in "
                                         r"sample 1\)"):
        load_npz(path)
    np.savez(path, x=np.zeros((2, 1)), y=np.array([0.0, 1.5]))
    with pytest.raises(ValueError, match="sample 1 has label 1.5; class labels must be"):
        load_npz(path, task="classification")
    np.savez(path, x=np.zeros((2, 1)), y=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="holds text labels; regression needs numbers"):
        load_npz(path, task="regression")
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match=f"{re.escape(str(path))}: cannot read its arrays "
                                         "without unpickling"):
        load_npz(path)
    for content in (b"", b"not numpy"):
        (tmp_path / "junk.npz").write_bytes(content)
        with pytest.raises(ValueError, match="cannot read it as a NumPy file"):
            load_npz(tmp_path / "junk.npz")
    np.save(tmp_path / "single.npy", np.zeros(2))
    with pytest.raises(ValueError, match="holds a single array, not the arrays 'x' and 'y'"):
        load_npz(tmp_path / "single.npy")


def test_npy_pairs(tmp_path):
    x_path, y_path = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x_path, np.ones((4, 1, 2, 2), dtype=np.uint8))
    np.save(y_path, np.array([3, 1, 3, 0]))
    x, y, info = load_npy(x_path, y_path)
    assert x.shape == (4, 1, 2, 2) and x.dtype == np.float32 and x.numpy().max() == 1.0
    assert y.numpy().tolist() == [3, 1, 3, 0] and info["class_names"] == ["0", "1", "2", "3"]
    assert load_data_file(x_path, labels=y_path)[2]["labels"] == str(y_path)
    assert load_npy(x_path, require_targets=False)[1] is None
    with pytest.raises(ValueError, match=re.escape(f"{x_path}: a .npy file holds inputs only; "
                                                   "give a second .npy file of targets")):
        load_npy(x_path)
    np.save(y_path, np.array([1, 0]))
    with pytest.raises(ValueError, match=re.escape(f"{x_path} holds 4 samples but {y_path} "
                                                   "holds 2")):
        load_npy(x_path, y_path)
    np.save(x_path, np.array(["a", "b"]))
    with pytest.raises(ValueError, match="has dtype <U1; inputs must be numbers"):
        load_npy(x_path, y_path)


# ---- images -----------------------------------------------------------------------------------
def png(path, pixels):
    image = pytest.importorskip("PIL.Image")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path)


@pytest.fixture
def pets(tmp_path):
    root = tmp_path / "pets"
    png(root / "dog" / "a.png", np.full((4, 6), 255))
    png(root / "cat" / "b.png", np.zeros((4, 6)))
    png(root / "cat" / "c.png", np.full((4, 6), 51))
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def test_image_folder_grey(pets):
    x, y, info = load_image_folder(pets)
    assert x.dtype == np.float32 and x.shape == (3, 1, 4, 6)
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], [0.0, 0.2, 1.0], rtol=1e-6)
    assert y.dtype == np.int64 and y.numpy().tolist() == [0, 0, 1]
    assert info["class_names"] == ["cat", "dog"] and info["num_classes"] == 2
    assert info["image_size"] == [4, 6] and info["channels"] == 1
    assert [p.rsplit("/", 2)[-2:] for p in info["files"]] == [["cat", "b.png"],
                                                              ["cat", "c.png"],
                                                              ["dog", "a.png"]]


def test_image_folder_colour_sizes_and_channels(pets):
    rgb = np.zeros((8, 12, 3))
    rgb[..., 0] = 255
    png(pets / "dog" / "red.png", rgb)  # colour, twice the size
    x, y, info = load_image_folder(pets)
    assert x.shape == (4, 3, 4, 6) and info["channels"] == 3
    np.testing.assert_allclose(x.numpy()[3, :, 1, 1], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(x.numpy()[1, :, 0, 0], [0.2, 0.2, 0.2], rtol=1e-6)  # grey x3
    x, _, info = load_image_folder(pets, image_size="2x3", channels=1)
    assert x.shape == (4, 1, 2, 3) and info["image_size"] == [2, 3]
    np.testing.assert_allclose(x.numpy()[3, 0], 0.299, rtol=1e-4)  # luma of pure red
    assert load_data_file(pets, image_size=5)[0].shape == (4, 3, 5, 5)
    with pytest.raises(ValueError, match="give classes, not regression targets"):
        load_data_file(pets, task="regression")
    assert 0.0 <= x.numpy().min() and x.numpy().max() <= 1.0
    with pytest.raises(ValueError, match="image_size must be N or HxW"):
        load_image_folder(pets, image_size="big")


def test_image_folder_errors(pets, tmp_path):
    (pets / "bird").mkdir()
    with pytest.raises(ValueError, match=re.escape(f"{pets}: class folder 'bird' holds no "
                                                   "images (.png, .jpg")):
        load_image_folder(pets)
    (pets / "bird" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=re.escape(f"{pets / 'bird' / 'broken.png'}: cannot "
                                                   "read this image")):
        load_image_folder(pets)
    (pets / "bird" / "broken.png").unlink()
    png(pets / "bird" / "b.png", np.zeros((4, 6)))
    with pytest.raises(ValueError, match="label 'bird' is not one of the classes cat, dog"):
        load_image_folder(pets, class_names=["cat", "dog"])
    flat = tmp_path / "flat"
    png(flat / "1.png", np.zeros((2, 2)))
    with pytest.raises(ValueError, match=re.escape(f"{flat}: no class folders; it holds 1 "
                                                   "images directly; put the images of each")):
        load_image_folder(flat)
    x, y, info = load_image_folder(flat, require_targets=False)
    assert x.shape == (1, 1, 2, 2) and y is None and info["task"] is None
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path / 'empty'}: no class folders;")):
        load_image_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="channels must be 1, 3 or None, got 4"):
        load_image_folder(pets, channels=4)


def test_image_folder_without_pillow(tmp_path, monkeypatch):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "1.png").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'chainrule[images]'")):
        load_image_folder(tmp_path)


def test_test_folder_read_like_its_training_folder(pets, tmp_path):
    _, _, info = load_image_folder(pets, image_size=3)
    png(tmp_path / "test" / "dog" / "d.png", np.full((9, 9, 3), 255))
    x, y, _ = load_data_file(tmp_path / "test", like=info)
    assert x.shape == (1, 1, 3, 3) and y.numpy().tolist() == [1]


# ---- any of them ------------------------------------------------------------------------------
def test_load_data_file_dispatch_and_errors(iris, tmp_path):
    assert load_data_file(iris, target="species")[2]["format"] == "csv"
    with pytest.raises(FileNotFoundError, match="data file 'nowhere.csv' does not exist"):
        load_data_file("nowhere.csv")
    write(tmp_path / "data.json", "{}")
    with pytest.raises(ValueError, match="unknown kind of data file; expected a .csv, .tsv"):
        load_data_file(tmp_path / "data.json")
    with pytest.raises(ValueError, match=re.escape(f"{iris}: labels does not apply to a CSV file")):
        load_data_file(iris, target="species", labels="y.npy")
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 1)), y=np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="target does not apply to an .npz file"):
        load_data_file(tmp_path / "d.npz", target="y")


def test_is_data_path(iris):
    assert is_data_path(str(iris)) and is_data_path("data/train") and is_data_path("a.npz")
    assert not is_data_path("digits") and not is_data_path("sine-seq")
    assert targets.MAX_AUTO_CLASSES == 20
