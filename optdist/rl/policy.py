"""Online placement with a trained DQN policy: ``optdist.solve(inst, method="rl", policy=...)``.

Requests arrive in order; each is placed at once, layer by layer and segment by segment, with
``a = argmax_j Q(s, j)`` (no exploration). Source-pinned layers go to the source. A masked
policy only picks devices in the action mask and rejects a request (rolled back) when a
segment has none; an unmasked one (the paper's) may break constraints, which the evaluator
then reports. The decisions are those of one forward pass per segment, computed with one
batched forward per round of many segments (:mod:`optdist.rl.decide`). The wall time of each
request's decisions is reported in ``extra``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from optdist.checkpoint import CheckpointError, load_state_dict
from optdist.heuristics.incremental import OnlineOutcome, require_parallel_uplink
from optdist.instance import Instance
from optdist.jsonfile import DocumentError, MiB, Problem, json_text, read_json, text_of, validation_problems
from optdist.paths import policy_files
from optdist.result import SolveResult, Termination, add_warning
from optdist.rl.decide import Scorer, place_requests
from optdist.rl.dqn import DeviceQNet
from optdist.rl.env import N_DEVICE_FEATURES, Features
from optdist.rl.presets import preset_for
from optdist.rl.train import POLICY_FORMAT, TRAINED_WITH, train, training_begins


@dataclass
class Policy:
    """A Q-network and its ``policy.json`` configuration."""

    net: nn.Module
    config: dict
    #: the folder or file it was loaded from (:func:`load_policy`), named in errors; None when trained in-process
    source: str | None = None

    @property
    def masked(self) -> bool:
        return bool(self.config["masked"])

    @classmethod
    def from_agent(cls, net: nn.Module, config: dict) -> Policy:
        return cls(net.eval(), config)


MAX_CONFIG_BYTES = MiB  # policy.json: a few hundred bytes
MAX_WEIGHTS_BYTES = 256 * MiB  # policy.pt: the paper's networks take kilobytes
MAX_WIDTH = 4096  # neurons per hidden layer
MAX_DEPTH = 16  # hidden layers
MAX_FEATURES = 100_000  # n_global, n_device


class PolicyError(DocumentError):
    """A policy file that cannot be used: which file, what is wrong, how to fix it."""

    kind = "policy"


class PolicyConfig(BaseModel):
    """The fields of ``policy.json`` that loading and placing read (others are kept as written)."""

    model_config = ConfigDict(extra="allow", strict=True)

    format: Literal[POLICY_FORMAT]  # type: ignore[valid-type]
    hidden: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(max_length=MAX_DEPTH)
    n_global: int = Field(ge=0, le=MAX_FEATURES)
    n_device: int = Field(ge=1, le=MAX_FEATURES)
    n_actions: int = Field(ge=1)
    cnns: list[str] = Field(min_length=1)
    max_layers: int = Field(ge=1, le=MAX_FEATURES)
    masked: bool
    instance: str
    reward: str
    double: bool
    episodes: int
    seed: int


_RETRAIN = "retrain it with `optdist train-rl INSTANCE --out DIR` and give that folder"


def _shapes(cfg: PolicyConfig) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of :class:`DeviceQNet` for ``cfg``, computed without allocating it."""
    shapes, width = {}, cfg.n_global + cfg.n_device
    for q, h in enumerate([*cfg.hidden, 1]):
        shapes[f"mlp.{2 * q}.weight"], shapes[f"mlp.{2 * q}.bias"] = (h, width), (h,)
        width = h
    return shapes


_MISSING = object()  # a field one of the two documents lacks (:func:`_differences`)


def _same(a: object, b: object) -> bool:
    """Whether two JSON values are equal, ``true`` not equal to ``1`` (as Python's ``==`` has it)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def _differences(trained: dict, written: dict, at: str = "") -> Iterator[tuple[str, object, object]]:
    """``(field, trained value, written value)`` for each recorded field that ``written`` (policy.json)
    gives otherwise, nested objects by their fields (``preset.lr``); a value missing from one side
    is :data:`_MISSING`. Fields only ``written`` has are compared inside recorded objects only
    (a note added at the top is not a setting)."""
    keys = list(trained) + [k for k in written if at and k not in trained]
    for k in keys:
        a, b = trained.get(k, _MISSING), written.get(k, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            yield from _differences(a, b, f"{at}{k}.")
        elif a is _MISSING or b is _MISSING or not _same(a, b):
            yield f"{at}{k}", a, b


def check_trained_with(pt: Path, state: dict, written: dict, retrain: str) -> None:
    """Refuse a ``policy.json`` (``written``, as read) whose training fields differ from those
    ``policy.pt``'s ``state`` recorded when it was saved (:func:`optdist.rl.train.save_state_dict`),
    e.g. ``masked``, ``reward``, ``double``, ``hidden`` or the ``preset`` edited: the network would
    run with settings it was not trained with. :class:`PolicyError` naming policy.json (in the
    policy's folder), each field edited, its value as trained, and the fix (restore it, or
    ``retrain``). A ``policy.pt`` saved before it held the record (all of ``models/policies/``) is
    not checked."""
    trained = getattr(state, TRAINED_WITH, None)
    if trained is None:
        return
    if not isinstance(trained, dict):
        raise PolicyError(str(pt), [Problem("(file)", f"its record of the training ({TRAINED_WITH}) is "
                                                      f"{json_text(trained)}, not a JSON object", retrain)])
    problems = []
    for field, was, now in _differences(trained, written):
        name = text_of(field)
        if was is _MISSING:
            problems.append(Problem(field, f"{json_text(now)}, a field the training {pt.name} records did not have: "
                                           "the file was edited since it was written", f"remove {name}"))
            continue
        said = "missing" if now is _MISSING else json_text(now)
        problems.append(Problem(field, f"{said}, but {pt.name} was trained with {json_text(was)}: the file was edited "
                                       "since it was written, and the network would run with a setting it was not "
                                       "trained with",
                                f"restore {name} {json_text(was)} as written, or, for the new value, {retrain}"))
    if problems:
        raise PolicyError(str(pt.with_suffix(".json")), problems)


def _read_weights(pt: Path, shapes: dict[str, tuple[int, ...]], written: dict,
                  fields: str = '"hidden", "n_global" and "n_device"', retrain: str = _RETRAIN) -> dict[str, torch.Tensor]:
    """The state dict in ``pt``, loaded weights-only, compared with ``written`` (policy.json as read:
    :func:`check_trained_with`) and checked against ``shapes``; raises :class:`PolicyError`.
    ``fields``: the fields of policy.json the shapes follow from, named where the two files disagree
    (policy.json edited since it was written, or the .pt replaced); ``retrain``: how to remake the
    policy."""
    def fail(where: str, message: str, fix: str = retrain) -> PolicyError:
        return PolicyError(str(pt), [Problem(where, message, fix)])

    disagree = (f"policy.pt and policy.json disagree: if policy.json was edited since it was written, restore its "
                f"{fields} as written; else {retrain}")

    if pt.stat().st_size > MAX_WEIGHTS_BYTES:
        raise fail("(file)", f"larger than the {MAX_WEIGHTS_BYTES // MiB} MiB limit for a policy", "check that it is the right file")
    try:
        state = load_state_dict(pt)
    except CheckpointError as e:
        raise fail("(file)", e.reason, _RETRAIN if e.empty else
                   "save only the network's weights, torch.save(net.state_dict(), 'policy.pt'), or " + _RETRAIN) from None
    check_trained_with(pt, state, written, retrain)
    if set(state) != set(shapes):
        missing, extra = sorted(set(shapes) - set(state)), sorted(set(state) - set(shapes))
        raise fail("(file)", f"its parameters do not match policy.json's network (missing {missing[:4]}, unexpected "
                             f"{extra[:4]}; the network follows from policy.json's {fields})", disagree)
    for name, shape in shapes.items():
        if tuple(state[name].shape) != shape:
            raise fail(name, f"shape {tuple(state[name].shape)}, policy.json's network needs {shape} (from its {fields})",
                       disagree)
        if not state[name].is_floating_point() or not bool(torch.isfinite(state[name]).all()):
            raise fail(name, "not finite floating-point weights (NaN, inf or integers)")
    return state


def read_policy_config(path: str | Path, model: type[BaseModel], trained_by: str, fix: str,
                       other: tuple[str, str, str], document: str) -> tuple[Path, dict, BaseModel]:
    """``(policy.pt, policy.json as read, policy.json validated by model)`` of a policy folder, its ``.pt``
    or its ``.json``.

    ``trained_by``: the command that writes such a folder; ``fix``: how to remake a bad one;
    ``other``: ``(format, what it is, method)`` of the other algorithm's files, named as the fix
    when given one; ``document``: how validation problems name the file. Raises FileNotFoundError or :class:`PolicyError` (file, field and fix).
    """
    path = Path(path)
    pt, cfg_path = policy_files(path)
    missing = [f.name for f in (pt, cfg_path) if not f.is_file()]
    if missing:
        has = ([f"{f.name} is there but {missing[0]} is missing (a policy is both files, as {trained_by} writes them)"
                for f in (pt, cfg_path) if f.is_file()] or [f"no policy here (need {pt.name} and {cfg_path.name})"])
        raise FileNotFoundError(f"{path}: {has[0]}; give the folder {trained_by} wrote, or its policy.pt")
    raw = read_json(cfg_path, MAX_CONFIG_BYTES, PolicyError, "policy.json")
    if not isinstance(raw, dict):
        raise PolicyError(str(cfg_path), [Problem("(document)", "must be a JSON object", fix)])
    other_format, what, method = other
    if raw.get("format") == other_format:
        raise PolicyError(str(cfg_path), [Problem("format", f"{text_of(other_format)} is {what}",
                                                  f"place it with method {method} (--method {method})")])
    try:
        spec = model.model_validate(raw)
    except ValidationError as e:
        raise PolicyError(str(cfg_path), validation_problems(e, {}, document, fix)) from None
    return pt, raw, spec


def check_layout(cfg_path: Path, raw: dict, n_global: int, n_actions: int, fix: str) -> None:
    """Refuse a ``policy.json`` (``raw``, validated) whose fields contradict the network its
    ``policy.pt`` holds: ``cnns`` (distinct) and ``max_layers`` must give the ``n_global``
    features that network reads (one per CNN, one per layer, one more: :class:`Features`), and
    ``device_ids``, where given, ``n_actions`` distinct device ids. :class:`PolicyError` naming the
    file, the field, what the weights imply, and that the file was edited since ``fix`` (how to
    remake it) wrote it. Before, an edited ``cnns`` failed at placement with "policy reads 11
    global ... features, X gives 12 and 11: retrain it", naming neither file nor field, and an
    edited ``n_actions`` or ``device_ids`` was accepted silently."""
    def fail(field: str, message: str, restore: str) -> PolicyError:
        return PolicyError(str(cfg_path), [Problem(field, message, f"the file was edited since it was written: "
                                                                   f"{restore}, or {fix}")])

    cnns, max_layers = raw["cnns"], raw["max_layers"]
    if len(set(cnns)) != len(cnns):
        raise fail("cnns", f"{json_text(cnns)} names a CNN twice", "restore the CNNs it was trained on, each once")
    if len(cnns) + max_layers + 1 != n_global:
        raise fail("cnns, max_layers",  # either may be the one edited: both named
                   f"{json_text(cnns)} ({len(cnns)} CNN(s)) and \"max_layers\" {max_layers} give "
                   f"{len(cnns) + max_layers + 1} global features (one per CNN, one per layer, one more), but the "
                   f"network in {cfg_path.with_suffix('.pt').name} reads {n_global}",
                   f"restore \"cnns\" and \"max_layers\" as written (the number of CNNs plus max_layers is "
                   f"{n_global - 1} for these weights)")
    ids = raw.get("device_ids")
    if ids is None:
        return
    if (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids)
            or len(ids) != n_actions):
        raise fail("device_ids", f"{json_text(ids, 80)} is not {n_actions} distinct device ids (\"n_actions\" "
                   f"{n_actions}: the devices of the instance it was trained on)",
                   "restore \"device_ids\" and \"n_actions\" as written")


def load_policy(path: str | Path) -> Policy:
    """Load a policy folder (``policy.pt`` + ``policy.json``) or its ``.pt`` file.

    ``policy.json`` is validated first (:class:`PolicyConfig`: network widths up to
    :data:`MAX_WIDTH`, depth up to :data:`MAX_DEPTH`), then ``policy.pt`` is loaded weights-only
    and its tensor shapes compared with that network before the network is built, so memory
    stays within the files' sizes. Raises :class:`FileNotFoundError` or :class:`PolicyError`.
    """
    from optdist.rl.ppo import PPO_FORMAT

    pt, raw, spec = read_policy_config(path, PolicyConfig, "`optdist train-rl FILE --out DIR`", _RETRAIN,
                                       other=(PPO_FORMAT, "a MaskablePPO policy, not a DQN one", "rl-ppo"),
                                       document="policy.json as train-rl writes it")
    if spec.n_device != N_DEVICE_FEATURES:
        raise PolicyError(str(pt.with_suffix(".json")), [Problem(
            "n_device", f"{spec.n_device} per-device features, but optdist's observation has {N_DEVICE_FEATURES}",
            f"the file was edited since it was written: restore \"n_device\" {N_DEVICE_FEATURES} and \"n_global\" as "
            f"written, or {_RETRAIN}")])
    state = _read_weights(pt, _shapes(spec), raw)
    check_layout(pt.with_suffix(".json"), raw, spec.n_global, spec.n_actions, _RETRAIN)
    net = DeviceQNet(spec.n_global, spec.n_device, spec.n_actions, tuple(spec.hidden))
    net.load_state_dict(state)
    return Policy(net.eval(), raw, str(path))


def numpy_forward(net: DeviceQNet):
    """The Q-network as plain numpy (same maths as :meth:`DeviceQNet.forward`): ``q(obs)`` -> (D,) Q-values.

    The MLP is shared by every device, so the number of devices D is read off the state
    (``len(obs) = n_global + n_device * D``): a policy serves device sets of any size.
    """
    scorer = Scorer(net)

    def q(obs: np.ndarray) -> np.ndarray:
        rows = obs[scorer.G:].reshape(scorer.F, -1).T
        return scorer.q_rows(obs[None, : scorer.G], rows, np.zeros(len(rows), dtype=np.int64))

    return q


def place_online(inst: Instance, policy: Policy, active: np.ndarray | None = None,
                 warmup: bool = True) -> tuple[OnlineOutcome, list[float], list[int]]:
    """Place every request with ``policy``: the outcome, each request's decision seconds and segments placed.

    ``active`` (bool per node): devices still present; the others are never chosen. The
    instance may have another number of devices than the policy was trained on (the Q-network
    scores each device from its own features); it must use CNNs the policy knows. ``warmup``
    (default on): before the first arrival, each CNN's first request is decided on a scratch
    copy of the empty usage to guess the CNN's first real request
    (:func:`optdist.rl.decide.warm_up`; same decisions, a faster first request); its seconds are
    the outcome's ``warmup_s`` (None without warm-up: ``warmup`` off, or no CNN with more than one
    request, whose only request it would decide twice), apart from the decision seconds.
    """
    require_parallel_uplink(inst, "rl")
    scorer = Scorer(policy.net)
    return place_requests(inst, policy_features(inst, policy), scorer.choose, policy.masked, active,
                          rank=scorer.order, warmup=warmup)


def policy_features(inst: Instance, policy: Policy) -> Features:
    """The observation features of ``inst`` in ``policy``'s layout (its CNNs and layer count).

    Raises ValueError naming the policy, the field of its ``policy.json`` and the fix where ``inst``
    has CNNs the policy does not know, or longer ones than it was trained on."""
    cfg = policy.config
    which = "the policy" if policy.source is None else f"the policy {policy.source}"
    unknown = sorted(set(inst.request_cnn) - set(cfg["cnns"]))
    if unknown:
        raise ValueError(f"{which}: its observation layout (policy.json's \"cnns\" {json_text(cfg['cnns'])}) does not "
                         f"cover {inst.name}'s {json_text(unknown)} requests (fix: a policy trained on an instance with "
                         f"them, `optdist train-rl INSTANCE --out DIR`, then --policy DIR)")
    longest = max(inst.profiles[c].n_layers for c in set(inst.request_cnn))
    if longest > cfg["max_layers"]:
        raise ValueError(f"{which}: its observation layout (policy.json's \"max_layers\" {cfg['max_layers']}) does not "
                         f"cover {inst.name}'s CNNs of {longest} layers (fix: a policy trained on an instance with "
                         f"them, `optdist train-rl INSTANCE --out DIR`, then --policy DIR)")
    feats = Features(inst, cfg["cnns"], cfg["max_layers"])
    if (feats.n_global, feats.n_device) != (policy.net.n_global, policy.net.n_device):
        raise ValueError(f"{which} reads {policy.net.n_global} global and {policy.net.n_device} per-device features, "
                         f"{inst.name} gives {feats.n_global} and {feats.n_device} (fix: retrain it on this instance, "
                         f"`optdist train-rl INSTANCE --out DIR`, then --policy DIR)")
    return feats


def not_modelled(method: str, masked: bool) -> dict[str, str]:
    """The violations a learned method (``rl``, ``rl-ppo``) makes by design, by family (as
    :data:`optdist.heuristics.greedy.NOT_MODELLED`), for ``extra["not_modelled"]``, which ``optdist
    solve`` names instead of "the method said feasible": a masked policy rejects a request when a
    segment has no allowed device, which breaks the model with admission control off (the
    pre-solve checks' proof where they find one: :meth:`OnlineOutcome.proven_rejections`); an
    unmasked one (``masked`` false) also places by the network's choice alone, which may break
    the capacities (10b-d) and the privacy limits (10f)."""
    out = {"admission": f"rejects requests with admission control off: {method}'s policy rejects a request when a "
                        "segment has no allowed device left; the exact engine may place it (--method milp)"}
    if not masked:
        unmasked = (f"{method}'s policy is unmasked (masked false): it places by the network's choice alone, "
                    "without the action mask that keeps")
        out |= {fam: f"violates {fam} (10{eq}): {unmasked} the {what}" for fam, eq, what in (
            ("memory", "b", "memory capacities"), ("compute", "c", "compute capacities"),
            ("bandwidth", "d", "bandwidth capacities"), ("privacy", "f", "privacy limits Nf"))}
    return out


TRAIN_SHARE = 0.5  # of ``time_limit``: the most the training before the placement may take (rl, rl-ppo)


def train_deadline(start: float, time_limit: float | None) -> float | None:
    """When the training of a run started at ``start`` (:func:`time.perf_counter`, s) must end:
    :data:`TRAIN_SHARE` of ``time_limit`` (s) later; None without a limit."""
    return None if time_limit is None else start + TRAIN_SHARE * time_limit


def time_limit_extra(start: float, time_limit: float | None, placed_from: float, decision_s: list[float],
                     config: dict, trained: bool) -> dict:
    """What ``time_limit`` (s, from ``start``) cut in an rl / rl-ppo run, for ``extra``.

    ``train_cut``: the training config's ``cut_at_deadline`` with what was done (``episodes`` of
    ``episodes_planned``, or ``env_steps`` of ``timesteps``), when the run trained its policy and
    the deadline ended it, and ``warning`` when it ended before any gradient step;
    ``decided_past_deadline``: the requests whose decision ended after ``start + time_limit``
    (the decisions began at ``placed_from``, after any warm-up, each request took its ``decision_s``; they are
    still decided by the network: milliseconds each) and ``decisions_began_s``, how long after ``start``
    the first decision began (loading the policy, any training and warm-up: not in the run's
    ``wall_time``, which a user compares with the limit). Empty without a limit.
    """
    if time_limit is None:
        return {}
    out: dict = {}
    if trained and config.get("cut_at_deadline"):
        done = ({"episodes": config["episodes"], "episodes_planned": config["episodes_planned"]} if "episodes_planned" in config
                else {"env_steps": config["env_steps"], "timesteps": config["timesteps"]})
        out["train_cut"] = {**done, "train_limit_s": TRAIN_SHARE * time_limit}
        if not config.get("gradient_steps", config.get("updates")):
            out["warning"] = (f"the training got no gradient step in its {TRAIN_SHARE * time_limit:.3g} s "
                              f"({TRAIN_SHARE:g} of the time limit): the policy placed with the network's initial "
                              f"weights (fix: a larger --time-limit, or a trained policy: {train_apart(config)})")
    ends = placed_from + np.cumsum(decision_s)
    late = int((ends > start + time_limit).sum())
    if late:
        out["decided_past_deadline"] = late
        out["decisions_began_s"] = placed_from - start  # the limit's clock ran before them: policy load, warm-up
    return out


def merge_extra(extra: dict, more: dict) -> None:
    """Put ``more`` (:func:`time_limit_extra`, :func:`interrupted_training_extra`) into ``extra``;
    its ``warning`` is added after those already there (:func:`optdist.result.add_warning`), not
    over them: an interrupted training that also took no gradient step reports both."""
    more = dict(more)
    warning = more.pop("warning", None)
    extra.update(more)
    if warning:
        add_warning(extra, warning)


def training_done(config: dict) -> str:
    """What a training ``config`` (``policy.json``) says was done of what was planned, e.g. "137 of
    3000 episodes" (DQN: ``episodes`` of ``episodes_planned``) or "512 of 20000 env steps"
    (MaskablePPO: ``env_steps`` of ``timesteps``); for a training a signal or a deadline ended."""
    if "episodes_planned" in config:
        return f"{config['episodes']} of {config['episodes_planned']} episodes"
    return f"{config['env_steps']} of {config['timesteps']} env steps"


#: the training stopped on a signal inside ``solve`` (rl, rl-ppo without a policy)
STOPPING_TRAINING = "stopping training; the policy trained so far places the requests"
#: the same, where the training is a MILP run's warm start (:func:`training_as_warm_start`)
STOPPING_WARM_START = ("stopping the warm start's training; the policy trained so far places the warm start, then the "
                       "run stops: no model is built, no solver is started")
#: :data:`STOPPING_TRAINING` for a signal before the training's first episode (rl) or env step
#: (rl-ppo) began: none runs, the network keeps its initial weights
STOPPING_TRAINING_UNTRAINED = ("stopping training before it began; the untrained (initial) policy places the "
                               "requests")
#: :data:`STOPPING_WARM_START` for a signal before the warm start's training began (the result's
#: note: "after 0 of N episodes: the untrained (initial) policy placed it", optdist.milp.run)
STOPPING_WARM_START_UNTRAINED = ("stopping the warm start's training before it began; the untrained (initial) policy "
                                 "places the warm start, then the run stops: no model is built, no solver is started")
_stopping: ContextVar[tuple[str, str]] = ContextVar(
    "optdist_rl_stopping", default=(STOPPING_TRAINING, STOPPING_TRAINING_UNTRAINED))

def stopping_training() -> Callable[[], str]:
    """What a signal during rl's (rl-ppo's) in-process training stops, for the note
    :func:`~optdist.solvers.base.stop_on_signals` logs at once (a function, read when the signal
    comes): :data:`STOPPING_TRAINING`, or :data:`STOPPING_WARM_START` inside
    :func:`training_as_warm_start`; their ``_UNTRAINED`` forms while the training has not begun
    (:func:`optdist.rl.train.training_began`), as the result then says "0 of N episodes: the untrained (initial)
    policy" (before, the note said "the policy trained so far" also then). Called as the block
    opens, before the training: no training has begun."""
    began = training_begins()
    trained, untrained = _stopping.get()
    return lambda: trained if began() else untrained


@contextmanager
def training_as_warm_start() -> Iterator[None]:
    """Inside the block an rl (rl-ppo) training is a MILP run's warm start
    (:func:`optdist.milp.run.warm_start_assignment`): a signal during it stops the whole run, after
    the policy so far places the start (no model is built), and its note says so
    (:data:`STOPPING_WARM_START`)."""
    token = _stopping.set((STOPPING_WARM_START, STOPPING_WARM_START_UNTRAINED))
    try:
        yield
    finally:
        _stopping.reset(token)


def interrupted_training_extra(config: dict) -> dict:
    """``extra`` of an rl / rl-ppo run whose in-process training a signal stopped (``config`` has
    ``interrupted``: the signal's name): ``interrupted`` (the CLI exits 130, 143 for SIGTERM),
    ``train_interrupted`` (the signal and what was done of what was planned: ``episodes`` of
    ``episodes_planned``, or ``env_steps`` of ``timesteps``) and ``warning``, which says so and
    whether the network had taken a gradient step (none: it placed with its initial weights)."""
    done_keys = ("episodes", "episodes_planned") if "episodes_planned" in config else ("env_steps", "timesteps")
    trained = config.get("gradient_steps", config.get("updates"))
    placed = ("the policy trained so far placed every request" if trained else
              "it had taken no gradient step, so the network's initial weights placed every request")
    return {
        "interrupted": config["interrupted"],
        "train_interrupted": {"signal": config["interrupted"], **{k: config[k] for k in done_keys}},
        "warning": (f"training interrupted by {config['interrupted']} at {training_done(config)}: {placed} "
                    f"(fix: let the training end, or train apart: {train_apart(config)})"),
    }


def interrupted_policy_warning(config: dict, source: str | None) -> str | None:
    """``extra["warning"]`` for placing with a saved policy whose training a signal stopped
    (``policy.json``'s ``interrupted``, written by ``optdist train-rl``; ``source``: the folder or
    file given, None for a policy object); None for a policy trained to its end."""
    if not config.get("interrupted"):
        return None
    which = "the policy given" if source is None else f"the policy {source}"
    return (f"{which} is what train-rl had trained when {config['interrupted']} interrupted it, after "
            f"{training_done(config)}: it may place worse than a policy trained to its end (fix: train one to its "
            f"end: {train_apart(config)})")


def train_apart(config: dict) -> str:
    """The commands that train a policy apart for the method whose training ``config`` is given
    (DQN: ``gradient_steps`` in it, for ``--method rl``; else MaskablePPO, for ``--method rl-ppo``) and
    place with it: a fix in the warnings of this module."""
    algo = "" if "gradient_steps" in config else " --algo maskable-ppo"
    return f"`optdist train-rl FILE{algo} --out DIR`, then --policy DIR"


def training_notes(extra: dict, config: dict, *, trained: bool) -> None:
    """Add to ``extra`` what a run's policy ``config`` says of its training: for a policy ``trained``
    in this run, :func:`interrupted_training_extra` after a signal, or a warning where it ran to its
    end without a gradient step (too few episodes or env steps to fill a batch: the network's
    initial weights placed every request; a deadline's cut warns in :func:`time_limit_extra`); for
    a given one (``extra["policy"]``: its folder or file), :func:`interrupted_policy_warning`."""
    if trained:
        if "interrupted" in config:
            merge_extra(extra, interrupted_training_extra(config))
        elif not config.get("cut_at_deadline") and not config.get("gradient_steps", config.get("updates")):
            dqn = "gradient_steps" in config
            done = f"{config['episodes']} episode(s)" if dqn else f"{config['env_steps']} env steps"
            add_warning(extra, f"the training took no gradient step in its {done}: the network's initial weights "
                               f"placed every request (fix: more {'--episodes' if dqn else '--timesteps'}, e.g. the "
                               f"default, or a trained policy: {train_apart(config)})")
    elif warning := interrupted_policy_warning(config, extra.get("policy")):
        add_warning(extra, warning)


def solve_rl(
    inst: Instance,
    *,
    policy: Policy | str | Path | None = None,
    episodes: int | None = None,
    reward: str = "stage",
    masked: bool = True,
    double: bool = True,
    seed: int | None = None,
    time_limit: float | None = None,
    threads: int | None = None,
) -> SolveResult:
    """Place ``inst`` online with ``policy`` (a :class:`Policy` or a saved folder / ``.pt``).

    Without a policy one is first trained on ``inst`` with the paper's preset for its CNNs
    (``episodes``, ``reward``, ``masked``, ``double``, ``seed``; training time in
    ``extra["train_s"]``, neither in the decision times nor in ``wall_time``, the placement's). ``threads`` is accepted for the common
    method interface and not used. ``extra["warmup_s"]``: the warm-up before the first request
    (:func:`place_online`), in ``wall_time`` and before the decisions (``time_limit``), not in the
    decision times.

    ``time_limit`` (s, from the call): the training ends before the episode that would start
    past :data:`TRAIN_SHARE` of it (``extra["train_cut"]``: episodes done and planned; none done:
    the network's initial weights), then every request is placed by the network, also past the
    limit (as plan-guided past its deadline decides by its steps of milliseconds, not by none):
    ``extra["decided_past_deadline"]`` counts those requests (:func:`time_limit_extra`).

    A SIGINT or SIGTERM during that training (in the main thread) ends it after the episode
    running, as a deadline does, and the policy trained so far places every request: the run is
    ``interrupted`` (the CLI exits 130, 143 for SIGTERM, with the placement) and ``extra`` says at
    which episode (:func:`interrupted_training_extra`); a second signal during the training aborts
    (KeyboardInterrupt); one while the network places (about a second) leaves the run to end with its placement. A given policy that ``optdist train-rl`` saved when a signal
    stopped it (``policy.json``'s ``interrupted``) places as any other, with ``extra["warning"]``
    saying so (:func:`interrupted_policy_warning`).
    """
    from optdist.solvers.base import stop_on_signals  # not at import: it loads Pyomo

    start = time.perf_counter()
    extra: dict = {}
    if policy is None:
        with stop_on_signals(lambda signum: None, stopping=stopping_training()):
            res = train(inst, preset_for(inst), episodes=episodes, masked=masked, double=double, reward=reward,
                        seed=0 if seed is None else seed, progress=False, deadline=train_deadline(start, time_limit))
        policy = Policy.from_agent(res.agent.q, res.config)
        extra["train_s"] = res.train_s
    elif not isinstance(policy, Policy):
        extra["policy"] = str(policy)
        policy = load_policy(policy)
    training_notes(extra, policy.config, trained="train_s" in extra)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    out, decision_s, segments = place_online(inst, policy)
    wall = time.perf_counter() - t0
    dec = np.array(decision_s) * 1e3
    cfg = policy.config
    merge_extra(extra, time_limit_extra(start, time_limit, t0 + (out.warmup_s or 0.0), decision_s, policy.config,
                                        "train_s" in extra))
    res = out.result(
        "rl", wall, masked=policy.masked, **extra, warmup_s=out.warmup_s,
        decision_ms_mean=float(dec.mean()), decision_ms_max=float(dec.max()),
        decision_us_per_segment=float(1e3 * dec.sum() / max(sum(segments), 1)),
        decision_ms_per_request=[float(x) for x in dec],
        policy_config={k: cfg[k] for k in ("instance", "reward", "masked", "double", "episodes", "seed", "train_freq")
                       if k in cfg},
        not_modelled=not_modelled("rl", policy.masked),
    )
    res.options = {"policy": extra.get("policy"), "masked": policy.masked}
    if "interrupted" in extra:
        res.termination = Termination.INTERRUPTED
    return res
