"""The example comparing batch, stochastic and mini-batch gradient descent (SPEC 6) runs."""

import importlib.util
import pathlib

EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "gradient_descent_variants.py"


def test_example_runs_and_shows_the_three_variants(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gradient_descent_variants", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--fast", "--out", str(tmp_path)])
    batch, sgd, mini = (results[k] for k in results)
    # one update per epoch, one per sample, one per batch of 16 (64 samples, 5 epochs)
    assert [len(r[2]) for r in (batch, sgd, mini)] == [5, 320, 20]
    # with the same learning rate and epochs, more updates get further
    assert sgd[1][-1] < mini[1][-1] < batch[1][-1]
    assert abs(sgd[0].weight.item() - 3) < 0.1 and abs(sgd[0].bias.item() - 2) < 0.1
    assert "stochastic (1 sample)" in capsys.readouterr().out
