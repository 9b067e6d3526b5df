"""helpers.training.side_by_side: several trainings at once give what each gives alone."""
import os

import numpy as np
import pytest
import torch

from helpers import training


def _job(seed: int, steps: int = 40):
    """A tiny torch regression trained with fit_torch; returns (weights, history)."""
    def run():
        g = torch.Generator().manual_seed(seed)
        x, w_true = torch.randn(64, 5, generator=g), torch.randn(5, 1, generator=g)
        model = torch.nn.Linear(5, 1)
        with torch.no_grad():
            model.weight.copy_(torch.randn(1, 5, generator=g))
            model.bias.zero_()
        hist = training.fit_torch(model, lambda m, step: ((m(x) - x @ w_true) ** 2).mean(), steps,
                                  lr=0.05, live=False)
        return model.weight.detach().clone(), hist
    return run


def test_side_by_side_equals_each_job_alone_and_restores_threads(capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    alone = {name: _job(seed)() for name, seed in (("a", 0), ("b", 1))}
    torch.set_num_threads(threads)
    together = training.side_by_side({"a": _job(0), "b": _job(1)}, show=True, title="two runs")
    assert set(together) == {"a", "b"}
    for name in alone:
        assert torch.equal(alone[name][0], together[name][0])
        assert alone[name][1]["loss"] == together[name][1]["loss"]
    assert torch.get_num_threads() == threads
    out = capsys.readouterr().out
    assert "a: 40 steps in" in out and "b: 40 steps in" in out


def test_side_by_side_passes_on_a_failing_job_and_restores_threads():
    threads = torch.get_num_threads()

    def broken():
        raise RuntimeError("boom")
    try:
        training.side_by_side({"ok": _job(0, 5), "broken": broken}, show=False)
    except RuntimeError as e:
        assert "boom" in str(e)
    else:
        raise AssertionError("the job's error was swallowed")
    assert torch.get_num_threads() == threads


def test_curves_png_draws_every_run():
    hist = {"step": list(range(1, 11)), "loss": list(np.linspace(2, 1, 10))}
    png = training.curves_png({"x": hist, "y": hist})
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_our_adam_gives_exactly_the_weights_of_torch_adam():
    """TorchAdam is torch.optim.Adam's arithmetic (defaults), also with clipping and a changing lr."""
    def train(make_opt, set_lr):
        torch.manual_seed(0)
        gru, out = torch.nn.GRU(3, 8, batch_first=True), torch.nn.Linear(8, 2)
        params = list(gru.parameters()) + list(out.parameters())
        opt, g = make_opt(params), torch.Generator().manual_seed(1)
        for step in range(30):
            x, y = torch.randn(4, 5, 3, generator=g), torch.randint(0, 2, (4, 5), generator=g)
            loss = torch.nn.functional.cross_entropy(out(gru(x)[0]).reshape(-1, 2), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 0.5)
            set_lr(opt, 0.02 * (1 - step / 30))
            opt.step()
        return [p.detach().clone() for p in params]

    def set_torch_lr(opt, lr):
        for group in opt.param_groups:
            group["lr"] = lr

    theirs = train(lambda ps: torch.optim.Adam(ps, lr=0.02), set_torch_lr)
    ours = train(lambda ps: training.TorchAdam(ps, lr=0.02), lambda opt, lr: setattr(opt, "lr", lr))
    assert all(torch.equal(a, b) for a, b in zip(theirs, ours, strict=True))
    assert not torch.equal(theirs[0], train(lambda ps: training.TorchAdam(ps, lr=0.01),
                                            lambda opt, lr: None)[0])        # a different lr: different weights


def test_fit_torch_takes_a_learning_rate_schedule(monkeypatch):
    seen = []

    class Spy(training.TorchAdam):
        def step(self):
            seen.append(self.lr)
            super().step()

    monkeypatch.setattr(training, "TorchAdam", Spy)
    model = torch.nn.Linear(2, 1)
    training.fit_torch(model, lambda m, step: m(torch.ones(1, 2)).sum() ** 2, 4, lr=lambda done: 1.0 / (done + 1),
                       live=False)
    assert seen == [1.0, 0.5, 1 / 3, 0.25]


def test_models_built_inside_side_by_side_jobs_get_their_own_seeds():
    """Seeding torch for a model is one thread at a time: built in parallel jobs, the weights are as built alone."""
    from helpers import cloze

    alone = {seed: cloze.make_model("bi", 16, seed) for seed in range(6)}
    for _ in range(3):
        built = training.side_by_side({seed: (lambda s=seed: cloze.make_model("bi", 16, s)) for seed in range(6)},
                                      show=False)
        for seed, model in built.items():
            assert all(torch.equal(a, b) for a, b in zip(alone[seed].parameters(), model.parameters()))
    torch.manual_seed(5)
    x = torch.rand(3)
    torch.manual_seed(5)
    with training.seeded_torch(1):
        torch.rand(10)
    assert torch.equal(torch.rand(3), x), "the global generator is as it was"


def _in_place_job(model, seed: int, steps: int = 30):
    """Train `model` in place (a GRU and a linear read-out); return its history."""
    def run():
        g = torch.Generator().manual_seed(seed)
        x, y = torch.randn(8, 6, 3, generator=g), torch.randint(0, 2, (8, 6), generator=g)
        return training.fit_torch(model, lambda m, step: torch.nn.functional.cross_entropy(
            m[1](m[0](x)[0]).reshape(-1, 2), y.reshape(-1)), steps, lr=0.05, live=False)
    return run


def _two_models():
    with training.seeded_torch(3):
        return {name: torch.nn.ModuleList([torch.nn.GRU(3, 8, batch_first=True), torch.nn.Linear(8, 2)])
                for name in ("a", "b")}


@pytest.mark.parametrize("fork", [True, False])
def test_side_by_side_with_modules_trains_them_in_place_as_alone(monkeypatch, fork):
    """Forked (Linux) or in threads: the modules end with the weights, gradients and flags of one-at-a-time training."""
    monkeypatch.setattr(training, "FORK", fork)
    alone, together = _two_models(), _two_models()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    expected = {name: _in_place_job(m, seed)() for (name, m), seed in zip(alone.items(), (0, 1))}
    torch.set_num_threads(threads)
    parent = os.getpid()
    got = training.side_by_side({name: _in_place_job(m, seed) for (name, m), seed in zip(together.items(), (0, 1))},
                                show=False, modules=together)
    assert os.getpid() == parent and torch.get_num_threads() == threads
    for name in alone:
        assert got[name]["loss"] == expected[name]["loss"]
        for p, q in zip(alone[name].parameters(), together[name].parameters(), strict=True):
            assert torch.equal(p, q) and torch.equal(p.grad, q.grad)
        assert [m.training for m in together[name].modules()] == [m.training for m in alone[name].modules()]
    assert not torch.equal(together["a"][1].weight, _two_models()["a"][1].weight), "training changed the weights"


def test_forked_jobs_pass_on_errors_and_results_that_cannot_be_sent(monkeypatch):
    monkeypatch.setattr(training, "FORK", True)
    models = _two_models()

    def broken():
        raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        training.side_by_side({"ok": _in_place_job(models["a"], 0, 3), "broken": broken}, show=False, modules=models)
    with pytest.raises(RuntimeError, match="cannot be sent back"):
        training.side_by_side({"a": lambda: (lambda: 1)}, show=False, modules={"a": models["a"]})
    with pytest.raises(RuntimeError, match="ended without a result"):
        training.side_by_side({"a": lambda: os._exit(3)}, show=False, modules={"a": models["a"]})
    assert torch.get_num_threads() >= 1


def test_a_forked_job_can_draw_a_widget_picture(monkeypatch):
    """The PNG encoder's worker thread is not inherited by a fork: the child makes its own."""
    from helpers import live

    monkeypatch.setattr(training, "FORK", True)
    big = np.random.default_rng(0).integers(0, 255, (600, 500, 4), dtype=np.uint8)
    here = live.encode_png(big)                                  # the parent's worker thread exists now
    model = torch.nn.Linear(2, 1)

    def encode_or_none():                                        # None (a failure, not a hang) if it never ends
        import threading

        out = []
        worker = threading.Thread(target=lambda: out.append(live.encode_png(big)), daemon=True)
        worker.start()
        worker.join(30)
        return out[0] if out else None
    got = training.side_by_side({"png": encode_or_none}, show=False, modules={"png": model})
    assert got["png"] == here
