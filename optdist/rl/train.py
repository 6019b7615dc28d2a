"""Train a DQN placement policy on an instance; save it and its convergence curves (paper Figs. 6-9).

Per episode (one layer) the curves record the return, the latency penalty (sum of the paper's
per-segment delays ``O_ij / rho_i + c_k / e_j``, Fig. 8), the stage time ``T_k`` the layer got,
and whether every step met every constraint (Figs. 7 and 9). The policy is saved as
``policy.pt`` (the Q-network's ``state_dict``, load with ``torch.load(..., weights_only=True)``;
it also records policy.json's training fields, :func:`save_state_dict`) plus ``policy.json``
(everything needed to rebuild it and its observation layout).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from optdist.instance import Instance
from optdist.io import atomic_path, atomic_write_json, atomic_write_text, json_dumps
from optdist.jsonfile import json_text, text_of, value_text
from optdist.rl.dqn import DQNAgent, DQNConfig, ReplayBuffer
from optdist.rl.env import DistPrivacyEnv, Reward
from optdist.rl.presets import Preset, count_in_range

POLICY_FORMAT = "optdist-rl-policy/1"
log = logging.getLogger("optdist")

#: whether the training running has begun its first episode (:func:`train`) or env step
#: (:func:`optdist.rl.ppo.train_maskable_ppo`) after its last check for a stop
_began: list[bool] = [False]


def training_begins() -> Callable[[], bool]:
    """A training is about to run: clears the flag :func:`training_began` sets and returns a function
    that reads it (for a signal's note, :func:`optdist.rl.policy.stopping_training`: a signal before
    it is set leaves nothing trained, the untrained (initial) policy places)."""
    _began[0] = False
    return lambda: _began[0]


def training_began() -> None:
    """The training passed its check for a stop and begins its first episode or env step: a signal
    from now on leaves at least one done (:func:`train` ends after the episode running)."""
    _began[0] = True


@dataclass
class TrainResult:
    agent: DQNAgent
    curves: pd.DataFrame
    config: dict
    train_s: float


def train(
    inst: Instance,
    preset: Preset,
    *,
    episodes: int | None = None,
    masked: bool = False,
    double: bool = False,
    reward: Reward = "paper",
    seed: int = 0,
    train_freq: int | None = None,
    progress: bool = True,
    on_episode: Callable[[int, DistPrivacyEnv, DQNAgent], None] | None = None,
    deadline: float | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    instance_sha256: str | None = None,
    cli: bool = False,
) -> TrainResult:
    """Epsilon-greedy DQN training for ``episodes`` layer episodes (default: the preset's).

    ``train_freq``: env steps per gradient step (default: the preset's ``train_freq``, e.g. 4 for
    'hetero'; the paper gives none, 1 is our reading of it); none is taken before the replay
    buffer holds a batch. The config records the ``train_freq`` used, ``env_steps`` and
    ``gradient_steps`` (0: the network kept its initial weights). ``on_episode(i, env, agent)``
    runs before episode i > 0 (e.g. to remove devices, Fig. 10). Raises ValueError for ``episodes`` or
    ``train_freq`` (given, or the preset's) that is not a whole number >= 1.

    Inside a :func:`~optdist.solvers.base.stop_on_signals` block (``optdist train-rl``), a SIGINT or
    SIGTERM ends the training after the episode running (:func:`~optdist.solvers.base.stop_requested`):
    the result is the agent so far, its config has ``interrupted`` (the signal's name), ``episodes``
    (the episodes done) and ``episodes_planned``; the curves have one row per episode done.
    ``deadline`` (a :func:`time.perf_counter` time, s; ``solve(method="rl", time_limit=...)``) ends
    it the same way, checked before each episode: the config then has ``cut_at_deadline`` (true),
    ``episodes`` and ``episodes_planned`` (0 episodes done: the network's initial weights).

    ``checkpoint`` (a folder; ``optdist train-rl``): the training's whole state (:data:`CHECKPOINT_FILES`,
    :func:`save_checkpoint`) is written there every ``checkpoint_every`` episodes and when a signal
    stops it, once it has taken a gradient step (before, nothing is saved: train-rl then leaves
    no file); ``resume``: the training continues from the one there (:func:`read_checkpoint`,
    refused where its settings differ from these: ValueError naming the field and the fix) to
    ``episodes`` (default: those it had planned) and, for the same seed, ends with the weights an
    uninterrupted training gets, bit for bit (the replay buffer is kept whole).
    ``instance_sha256``: the instance file's digest, compared on resume. ``checkpoint_every`` or
    ``resume`` without ``checkpoint``: ValueError. A checkpoint refused on resume is a ValueError in
    this function's words (``resume=True``, ``checkpoint=``, ``seed=``; :func:`python_words`), in
    ``optdist train-rl``'s (``--resume``, ``--force``, ``--out``) where ``cli`` (fixd32b).
    With ``on_episode`` too, it runs as without a checkpoint (before each episode i > 0; on resume,
    from the checkpoint's episode on, as in the uninterrupted training) and the checkpoints are
    written the same. A checkpoint keeps the agent and the environment's pass, not what
    ``on_episode`` changed in the environment (e.g. devices removed): a resumed training whose
    ``on_episode`` changes the environment must make those changes again (e.g. on its first call);
    one that only watches (progress, logging) resumes bit for bit.
    """
    from optdist.solvers.base import stop_requested  # not at import: it loads Pyomo

    torch.set_num_threads(1)
    given_freq, train_freq = train_freq, preset.train_freq if train_freq is None else train_freq
    if not count_in_range(train_freq):  # 0 divided by zero at the first gradient step; -1 or 2.5 were recorded as used
        whose = "" if given_freq is not None else f" (the train_freq of preset {json_text(preset.name)})"
        raise ValueError(f"train_freq = {value_text(train_freq)}{whose}: give a whole number >= 1 of env steps per "
                         "gradient step, e.g. 4")
    settings = checkpoint_settings(inst, preset, reward=reward, masked=masked, double=double, seed=seed,
                                   train_freq=train_freq, instance_sha256=instance_sha256)
    if checkpoint_every is not None and checkpoint is None:
        raise ValueError(f"checkpoint_every={value_text(checkpoint_every)} without checkpoint=: no checkpoint would "
                         "be written (fix: give checkpoint=FOLDER too, or leave out checkpoint_every)")
    check_resume_folder(resume, checkpoint)
    with in_callers_words(cli, "train"):
        saved = read_checkpoint(Path(checkpoint), settings) if resume else None
        if saved is not None:
            check_dqn_counters(Path(checkpoint) / CHECKPOINT_FILES[1], saved[0], saved[1], preset.buffer_size)
    given_episodes = episodes is not None
    if saved is not None and episodes is None:
        episodes = saved[0]["episodes_planned"]
    episodes = preset.episodes if episodes is None else episodes
    if not count_in_range(episodes):  # 0 or -1 trained nothing
        raise ValueError(f"episodes = {value_text(episodes)}: give a whole number >= 1 of layer episodes, e.g. 2000")
    unit = preset.latency_unit_s if reward == "paper" else preset.stage_unit_s
    env = DistPrivacyEnv(inst, reward=reward, sigma=preset.sigma, beta=preset.beta, latency_unit_s=unit)
    cfg = DQNConfig(
        gamma=preset.gamma, lr=preset.lr, buffer_size=preset.buffer_size, batch_size=preset.batch_size,
        target_update=preset.target_update, masked=masked, double=double, train_freq=train_freq,
    )
    f = env.features
    agent = DQNAgent(f.n_global, f.n_device, env.action_space.n, cfg, seed=seed)
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    eps, rows, updates, before_s = preset.eps_start, [], 0, 0.0
    if saved is not None:
        meta, state = saved
        with in_callers_words(cli, "train"):
            note = resume_note(meta, episodes, given_episodes, checkpoint, done="episodes", planned="episodes_planned",
                               flag="--episodes", unit="episode")
            obs, info = _restore(agent, env, meta, state, seed, checkpoint)
        log.warning(note)
        eps, updates, before_s = meta["epsilon"], meta["gradient_steps"], meta["train_s"]
        rows = [dict(zip(state["curves"], values)) for values in zip(*state["curves"].values())]
    start = len(rows)
    for ep in tqdm(range(start, episodes), desc=f"train-rl {inst.name}", unit="ep", disable=not progress,
                   initial=start, total=episodes):
        if checkpoint is not None and checkpoint_every and ep > start and ep % checkpoint_every == 0 and updates:
            save_checkpoint(checkpoint, settings, agent, env, rows, eps, updates, episodes,
                            before_s + time.perf_counter() - t0)
        if stop_requested():  # SIGINT/SIGTERM: keep the episodes done
            break
        if deadline is not None and time.perf_counter() >= deadline:  # time limit: keep the episodes done
            break
        training_began()  # a signal from here ends the training after this episode: one is done
        if on_episode is not None and ep:
            on_episode(ep, env, agent)
        done, losses = False, []
        while not done:
            a = agent.act(obs, info["action_mask"].astype(bool), eps)
            nxt, r, done, _, info = env.step(a)
            loss = agent.observe(obs, a, r, nxt, done, info["action_mask"].astype(bool))
            if loss is not None:
                losses.append(loss)
            obs = nxt
        updates += len(losses)
        s = info["episode_stats"]
        rows.append({
            "episode": ep, "request": info["request"], "layer": info["layer"], "steps": s["steps"],
            "reward": s["reward"], "latency_penalty_ms": 1e3 * s["latency_penalty_s"],
            "stage_time_ms": 1e3 * s["stage_time_s"], "constraints_met": int(s["valid"]),
            "epsilon": eps, "loss": float(np.mean(losses)) if losses else np.nan,
        })
        eps = max(preset.eps_min, eps * preset.eps_decay)
        obs, info = env.reset()
    config = {
        "format": POLICY_FORMAT, "instance": inst.name, "preset": asdict(preset), "episodes": len(rows),
        "reward": reward, "masked": masked, "double": double, "seed": seed, "train_freq": train_freq, "hidden": list(cfg.hidden),
        "env_steps": agent.steps, "gradient_steps": updates,
        "n_global": f.n_global, "n_device": f.n_device, "n_actions": int(env.action_space.n),
        "cnns": env.features.cnns, "max_layers": env.features.max_layers,
        "device_ids": list(inst.node_ids[: inst.n_devices]),
    }
    if saved is not None:
        config["resumed_at"] = saved[0]["episodes"]  # (the latest) resume's first episode
    train_s = before_s + time.perf_counter() - t0
    if len(rows) < episodes:
        config["episodes_planned"] = episodes
        if stop_requested():
            config["interrupted"] = stop_signal_name()
            if checkpoint is not None and len(rows) > start and updates:  # none before the first gradient step
                save_checkpoint(checkpoint, settings, agent, env, rows, eps, updates, episodes, train_s)
        else:
            config["cut_at_deadline"] = True
    return TrainResult(agent, pd.DataFrame(rows), config, train_s)


#: when a MaskablePPO training writes its checkpoint (:func:`optdist.rl.ppo.train_maskable_ppo`;
#: a signal stops it within a rollout and writes nothing)
PPO_WRITES = "writes one at the start of every rollout after its first update"
_PYTHON_WORDS = (  # (optdist train-rl's words, the training function's, {call}: its name), in this order
    ("leave out --resume and give --force, or another --out, to train afresh",
     "call {call} without resume=True, or with another checkpoint= folder, to train afresh"),
    ("leave out --resume and give --force to train afresh", "call {call} without resume=True to train afresh"),
    ("delete the checkpoint (checkpoint.pt, checkpoint.json) and train afresh with --force",
     "delete the checkpoint (checkpoint.pt, checkpoint.json), or call {call} without resume=True, to train afresh"),
    ("train-rl writes one when a signal stops it, and every --checkpoint-every episodes",
     "train writes one when a signal stops it (under optdist.solvers.base.stop_on_signals), and every "
     "checkpoint_every episodes"),
    (f"train-rl --algo maskable-ppo {PPO_WRITES}", f"train_maskable_ppo {PPO_WRITES}"),
    ("checkpoint's --algo", "checkpoint's algo (dqn: optdist.rl.train.train, maskable-ppo: "
     "optdist.rl.ppo.train_maskable_ppo)"),
    ("--resume: ", "resume=True: "),
    ("give --masked", "give masked=True"), ("leave out --masked", "give masked=False"),
    ("give --double", "give double=True"), ("leave out --double", "give double=False"),
    ("INSTANCE (the file's contents)", "instance_sha256="), ("for INSTANCE", "for instance_sha256="),
    ("checkpoint's INSTANCE", "checkpoint's instance (inst=)"), ("INSTANCE", "inst="),
)


def _python_name(flag: re.Match[str]) -> str:
    return flag.group(1).replace("-", "_")


def python_words(message: str, call: str = "train") -> str:
    """A checkpoint's refusal (:func:`read_checkpoint`, :func:`check_dqn_counters`, ...), written in
    ``optdist train-rl``'s words, in those of the Python function ``call`` (:func:`train`,
    :func:`optdist.rl.ppo.train_maskable_ppo`): ``--resume`` -> ``resume=True``, ``--seed`` ->
    ``seed=``, ``--episodes 50`` -> ``episodes=50``, "give more --episodes" -> "give a larger
    episodes=", "leave --episodes out" -> "give episodes=None" (fixd32b: a Python caller has no flags)."""
    for cli, python in _PYTHON_WORDS:
        message = message.replace(cli, python.format(call=call))
    message = re.sub(r"give more --([a-z][a-z-]*)", lambda m: f"give a larger {_python_name(m)}=", message)
    message = re.sub(r"leave --([a-z][a-z-]*) out", lambda m: f"give {_python_name(m)}=None", message)
    message = re.sub(r"--([a-z][a-z-]*) (?=-?\d)", lambda m: _python_name(m) + "=", message)
    return re.sub(r"--([a-z][a-z-]*)", lambda m: _python_name(m) + "=", message)


@contextlib.contextmanager
def in_callers_words(cli: bool, call: str) -> Iterator[None]:
    """A ValueError raised inside (a checkpoint's refusal, in ``optdist train-rl``'s words) comes out
    as is where ``cli``, else in the words of the Python function ``call`` (:func:`python_words`)."""
    try:
        yield
    except ValueError as e:
        if cli:
            raise
        raise ValueError(python_words(str(e), call)) from None


def check_resume_folder(resume: bool, checkpoint: Path | None) -> None:
    """ValueError (in Python's words: only a Python caller can leave it out) for ``resume`` without
    a ``checkpoint`` folder."""
    if resume and checkpoint is None:
        raise ValueError("resume=True without checkpoint=: there is no checkpoint to resume (fix: give checkpoint= "
                         "the folder of the checkpoint, or leave out resume=True to train afresh)")


CHECKPOINT_FORMAT = "optdist-rl-checkpoint/1"
#: a DQN training's checkpoint in train-rl's ``--out``: the tensors (``torch.save``, read with
#: ``weights_only=True``) and the JSON sidecar (settings, counters, the agent's RNG state)
CHECKPOINT_FILES = ("checkpoint.pt", "checkpoint.json")
#: a setting of the checkpoint -> the train-rl argument that gives it
SETTING_FLAGS = {"algo": "--algo", "instance": "INSTANCE", "instance_sha256": "INSTANCE (the file's contents)",
                 "preset": "--preset", "reward": "--reward", "masked": "--masked", "double": "--double",
                 "seed": "--seed", "train_freq": "--train-freq", "n_steps": "n_steps (rollout length)"}


def checkpoint_preset(preset: Preset) -> dict:
    """A checkpoint's ``settings.preset``: the preset's fields but its ``train_freq``, a default
    the DQN checkpoint keeps as the value used (``settings.train_freq``) and MaskablePPO does not
    use; so a checkpoint saved before the preset had that field still resumes (preset36)."""
    return {k: v for k, v in asdict(preset).items() if k != "train_freq"}


def checkpoint_settings(inst: Instance, preset: Preset, *, reward: str, masked: bool, double: bool, seed: int,
                        train_freq: int, instance_sha256: str | None = None) -> dict:
    """What a checkpoint must share with the training that resumes it (:data:`SETTING_FLAGS`):
    ``train_freq`` the value used (given, or the preset's); ``preset``: :func:`checkpoint_preset`."""
    return {"algo": "dqn", "instance": inst.name, "instance_sha256": instance_sha256, "preset": checkpoint_preset(preset),
            "reward": reward, "masked": masked, "double": double, "seed": seed, "train_freq": train_freq}


def save_checkpoint(folder: Path, settings: dict, agent: DQNAgent, env: DistPrivacyEnv, rows: list[dict],
                    eps: float, updates: int, planned: int, train_s: float) -> None:
    """Write the training's state between two episodes into ``folder`` (:data:`CHECKPOINT_FILES`,
    each atomically; the .pt first, the two tied by ``save_id``): both networks, the optimiser, the
    replay buffer's filled part and position, torch's RNG state, the curves so far (packed:
    :data:`CURVES_ENCODING`) and the actions
    of the environment's current pass (replayed on resume: :meth:`DistPrivacyEnv.reset` and
    ``step``); the JSON: the settings, the counters, epsilon and the agent's numpy RNG state."""
    import uuid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buf, save_id = agent.buffer, uuid.uuid4().hex
    n = buf.size
    state = {
        "save_id": save_id, "q": agent.q.state_dict(), "target": agent.target.state_dict(),
        "optimizer": agent.opt.state_dict(), "torch_rng": torch.get_rng_state(),
        "buffer": {name: pack_rows(getattr(buf, name)[:n]) for name in BUFFER_FIELDS},
        "pass_actions": torch.tensor(env.pass_actions, dtype=torch.int64),
        "curves": {key: pack_curve([row[key] for row in rows]) for key in (rows[0] if rows else {})},
        "agent_rng": _rng_text(agent.rng.bit_generator.state),  # checkpoint.json's, to cross-check it
    }
    meta = {
        "format": CHECKPOINT_FORMAT, "save_id": save_id, "settings": settings, "episodes": len(rows),
        "episodes_planned": planned, "env_steps": agent.steps, "gradient_steps": updates, "epsilon": eps,
        "buffer_size": n, "buffer_pos": buf.pos, "buffer_encoding": BUFFER_ENCODING, "curves_encoding": CURVES_ENCODING,
        "buffer_columns": {name: _columns(getattr(buf, name)) for name in BUFFER_FIELDS}, "exact_rows": agent.exact_rows,
        "agent_rng": agent.rng.bit_generator.state, "train_s": train_s,
        "resume": "optdist train-rl INSTANCE --resume --out DIR (the same settings)",
    }
    write_checkpoint(folder, state, meta)
    log.info("wrote %s (%s; the replay buffer's %d rows packed: %s of %s)", folder / CHECKPOINT_FILES[0],
             _size((folder / CHECKPOINT_FILES[0]).stat().st_size), n, _size(sum(v.numel() for v in state["buffer"].values())),
             _size(sum(getattr(buf, name)[:n].nbytes for name in BUFFER_FIELDS)))


def _rng_text(state: dict) -> str:
    """A numpy bit generator's ``state`` as checkpoint.pt keeps it beside checkpoint.json's copy
    (canonical JSON text), so that an edit of the JSON's ``agent_rng`` is seen on resume."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def _size(nbytes: int) -> str:
    """A file size in words: ``330.7 MB``, ``126 kB``."""
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 1e5 else f"{nbytes / 1e3:.0f} kB"


#: the replay buffer's arrays a checkpoint keeps (:class:`~optdist.rl.dqn.ReplayBuffer`)
BUFFER_FIELDS = ("obs", "next_obs", "action", "reward", "done", "next_mask")
#: how checkpoint.pt holds them (``buffer_encoding`` in checkpoint.json; a checkpoint without it holds
#: the arrays as they are): each array's filled rows, column by column (its transpose, C order), its
#: raw bytes compressed by zlib (level 1), as a uint8 tensor. The observations' columns are mostly
#: constant over the rows (device capacities, speeds): a full buffer of a 70-device VGG training, 330 MB
#: as arrays, packs into a few MB, and unpacks to the same bytes (a resume stays bit for bit)
BUFFER_ENCODING = "zlib-columns/1"


def _columns(a: np.ndarray) -> int:
    """The values per row of the replay buffer's array ``a``."""
    return int(np.prod(a.shape[1:], dtype=np.int64))


def pack_rows(a: np.ndarray) -> torch.Tensor:
    """``a`` (rows first) as :data:`BUFFER_ENCODING` packs it: a 1-D uint8 tensor."""
    cols = np.ascontiguousarray(a.reshape(len(a), -1).T)
    return torch.from_numpy(np.frombuffer(zlib.compress(cols.tobytes(), 1), dtype=np.uint8).copy())


#: how checkpoint.pt holds the curves (``curves_encoding`` in checkpoint.json; a checkpoint without
#: it holds each as a list): per column, a dict of ``dtype`` (one of :data:`CURVE_DTYPES`: the
#: smallest integer type that holds an integer column, float64 otherwise, so values come back
#: exactly) and ``packed`` (the values as :func:`pack_rows` packs them); a column of text also
#: ``names`` (each distinct text once, in order of first use), its values their indices. As lists
#: they took 56 bytes an episode (2.5 MB of a 3.45 MB checkpoint after 44k episodes); packed, 12
#: (a lenet-1x4 training's 3,000 episodes: 169 kB as lists, 35 kB packed)
CURVES_ENCODING = "zlib-columns/1"
#: the dtypes a packed curve may have
CURVE_DTYPES = ("int8", "int16", "int32", "int64", "float64")


def pack_curve(values: list) -> dict:
    """One column of the curves (a value per episode: all text, all whole numbers, or numbers)
    as :data:`CURVES_ENCODING` packs it."""
    names: list[str] | None = None
    if values and all(isinstance(v, str) for v in values):
        index: dict[str, int] = {}
        a = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)
        names = list(index)
    else:
        a = np.array([v.item() if isinstance(v, np.generic) else v for v in values])
    if a.dtype.kind in "iu" and a.size:
        a = a.astype(next(t for t in CURVE_DTYPES[:-1] if np.iinfo(t).min <= a.min() and a.max() <= np.iinfo(t).max))
    else:
        a = a.astype(np.float64)
    column = {"dtype": a.dtype.name, "packed": pack_rows(a)}
    return column if names is None else {**column, "names": names}


def _unpacked_curves(meta_path: Path, most: int, curves: object) -> dict[str, list]:
    """The curves of a checkpoint that holds them packed (:data:`CURVES_ENCODING`) as lists (of at
    most ``most`` values each: their count is checked by the caller); ValueError naming the column
    and the fix for one that does not unpack."""
    pt = meta_path.with_name(CHECKPOINT_FILES[0])
    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"{pt}: field curves: not the packed curves {CURVES_ENCODING} (checkpoint.json's "
                         f"curves_encoding) describes; not resumed (fix: {FRESH_FIX})")
    out = {}
    for name, column in curves.items():
        got, names = None, None
        if isinstance(column, dict) and column.get("dtype") in CURVE_DTYPES and isinstance(column.get("packed"), torch.Tensor):
            got = unpack_rows(column["packed"], 1, np.dtype(column["dtype"]), (), most)
            names = column.get("names")
        if got is not None and names is not None:
            ok = (isinstance(names, list) and all(isinstance(n, str) for n in names) and got.dtype.kind == "i"
                  and (not got.size or 0 <= got.min() and got.max() < len(names)))
            got = np.array(names, dtype=object)[got] if ok else None
        if got is None:
            raise ValueError(f"{pt}: field curves.{name}: not up to {most} values (checkpoint.json's "
                             f"episodes_planned) packed as {CURVES_ENCODING}; the file is damaged or not of this "
                             f"save; not resumed (fix: {FRESH_FIX})")
        out[name] = got.tolist()
    return out


def unpack_rows(packed: torch.Tensor, columns: int, dtype: np.dtype, shape: tuple[int, ...],
                most: int) -> np.ndarray | None:
    """The array of rows of ``shape`` (``columns`` values) and ``dtype`` that :func:`pack_rows` packed
    into ``packed``, of at most ``most`` rows; None when ``packed`` is not that (not a 1-D uint8 tensor,
    not zlib data, more rows, or not whole rows: never more is unpacked than ``most`` rows take)."""
    if packed.dtype != torch.uint8 or packed.dim() != 1:
        return None
    row = columns * np.dtype(dtype).itemsize
    unzip = zlib.decompressobj()
    try:
        data = unzip.decompress(packed.numpy().tobytes(), most * row + 1)
    except zlib.error:
        return None
    if len(data) > most * row or len(data) % row or not unzip.eof or unzip.unconsumed_tail or unzip.unused_data:
        return None
    rows = len(data) // row
    return np.frombuffer(data, dtype=dtype).reshape(columns, rows).T.reshape(rows, *shape).copy()


def write_checkpoint(folder: Path, state: dict, meta: dict) -> None:
    """Write ``state`` (``torch.save``) and ``meta`` (JSON) as :data:`CHECKPOINT_FILES` into
    ``folder``, each atomically; both carry ``save_id`` (``state``'s), which :func:`read_checkpoint`
    compares. Both are written in full first, then renamed into place one after the other with
    SIGINT/SIGTERM held back (:func:`signals_held`: a second Ctrl-C between the renames would leave a
    .pt and a .json of two saves; it comes right after)."""
    held = contextlib.ExitStack()
    with held:
        with atomic_path(folder / CHECKPOINT_FILES[0]) as pt_tmp:
            torch.save(state, pt_tmp)
            with atomic_path(folder / CHECKPOINT_FILES[1]) as json_tmp:
                atomic_write_json(json_tmp, meta)
                held.enter_context(signals_held())  # from here to both renames' end


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that come while the block runs are kept, then sent again as it ends, to the
    handlers there were (main thread only; elsewhere nothing is held). Handlers swapped, not a
    ``pthread_sigmask`` of the main thread (before): the kernel gives a signal the main thread blocks
    to another thread (tqdm's monitor, torch's), where Python's C handler still sets the flag its
    Python handler runs on, in the main thread, at once: nothing was held back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            old[sig] = signal.signal(sig, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in got:
            signal.raise_signal(sig)  # to this thread, the main one: its handler runs now


def _mismatch(folder: Path, field: str, saved: object, given: object) -> str:
    """The message refusing a checkpoint whose setting ``field`` differs."""
    if field == "preset" and isinstance(saved, dict) and isinstance(given, dict):
        if saved.get("name") != given.get("name"):
            saved, given = saved.get("name"), given.get("name")
        else:  # same name, other hyper-parameters: checkpoint.json edited, or another optdist version's preset
            key = next(k for k in {**saved, **given} if saved.get(k) != given.get(k))
            return (f"{folder / CHECKPOINT_FILES[1]}: field settings.preset.{key}: {json_text(saved.get(key))}, but "
                    f"preset {json_text(given.get('name'))} has {key} {json_text(given.get(key))}: the checkpoint was "
                    f"edited (or saved by another optdist version whose preset differs); not resumed (--preset takes "
                    f"a preset's name, not its values; fix: restore settings.preset.{key} "
                    f"{json_text(given.get(key))} if you edited it, or {FRESH_FIX})")
    flag = SETTING_FLAGS.get(field.split(".")[0], field)
    if field == "instance_sha256":
        return (f"{folder / CHECKPOINT_FILES[1]}: field settings.instance_sha256: the instance's content (its parsed "
                f"JSON, canonical: keys sorted, no whitespace) differs from the one the checkpoint was trained on "
                f"(sha256 {saved} in the checkpoint, {given} for INSTANCE); not resumed (fix: resume with the "
                f"checkpoint's INSTANCE, or leave out --resume and give --force, or another --out, to train afresh)")
    if isinstance(saved, bool) and isinstance(given, bool) and field in ("masked", "double"):
        how = f"give {flag}" if saved else f"leave out {flag}"
        return (f"{folder / CHECKPOINT_FILES[1]}: field settings.{field}: the checkpoint was saved by a training "
                f"with {field} {json_text(saved)}, this one has {json_text(given)}; not resumed (fix: {how} to "
                f"resume it, or leave out --resume and give --force, or another --out, to train afresh)")
    if field == "train_freq":  # the value used: --train-freq's, or the preset's where left out (preset36)
        return (f"{folder / CHECKPOINT_FILES[1]}: field settings.train_freq: the checkpoint was saved by a training "
                f"with train_freq {json_text(saved)}, this one has {json_text(given)} (--train-freq, or where left out "
                f"the preset's); not resumed (fix: give --train-freq {json_text(saved)} to resume it, or leave out "
                f"--resume and give --force, or another --out, to train afresh)")
    return (f"{folder / CHECKPOINT_FILES[1]}: field settings.{field}: the checkpoint was saved by a training with "
            f"{field} {json_text(saved)}, this one has {json_text(given)}; not resumed (fix: resume with the "
            f"checkpoint's {flag}, or leave out --resume and give --force, or another --out, to train afresh)")


FRESH_FIX = "delete the checkpoint (checkpoint.pt, checkpoint.json) and train afresh with --force"


def resume_note(meta: dict, asked: int, given: bool, checkpoint: str | Path, *, done: str, planned: str, flag: str,
                unit: str) -> str:
    """The stderr line of a resumed training, ``"resuming at episode N of M"`` (DQN; MaskablePPO: env
    steps of timesteps), with what a ``flag`` below or above the checkpoint's plan does to it.

    ``meta``: the checkpoint's ``checkpoint.json`` (fields ``done``, the count trained, and
    ``planned``); ``asked``: the count to train to (the flag's, or ``meta[planned]`` when not
    ``given``). Raises ValueError when nothing is left to train, naming the flag the user gave or,
    where they gave none, the checkpoint's own field, and the fix.
    """
    if asked <= meta[done] and not given:
        raise ValueError(f"{Path(checkpoint) / CHECKPOINT_FILES[1]}: field {done}: the checkpoint's count "
                         f"{meta[done]} is not below its planned one ({planned} {meta[planned]}): nothing left to "
                         f"train (fix: give more {flag}, or {FRESH_FIX})")
    if asked <= meta[done]:
        raise ValueError(f"{flag} {asked}: the checkpoint in {checkpoint} has {meta[done]} {unit}s done already "
                         f"(fix: give more {flag}, or leave {flag} out to train the {meta[planned]} it had planned)")
    note = f"resuming at {unit} {meta[done]} of {asked}"
    if given and asked < meta[planned]:
        note += (f" ({flag} {asked} is below the {meta[planned]} the checkpoint had planned: the training ends at "
                 f"{unit} {asked} and its checkpoint is then removed)")
    elif given and asked > meta[planned]:
        note += f" ({flag} {asked}; the checkpoint had planned {meta[planned]})"
    return note


def _bad(meta_path: Path, field: str, value: object, why: str) -> ValueError:
    """A refusal of the checkpoint's ``field``: the file, the field, the value in full, why, the fix."""
    return ValueError(f"{meta_path}: field {field}: {json_text(value, limit=400)} {why}; not resumed (the checkpoint is "
                      f"damaged or was edited; fix: {FRESH_FIX})")


def _count(meta_path: Path, meta: dict, field: str, lo: int = 0, hi: int | None = None) -> int:
    """``meta[field]``, a whole number in ``[lo, hi]`` (ValueError naming the file, field, value, fix)."""
    if field not in meta:
        raise ValueError(f"{meta_path}: field {field} is missing; not resumed (fix: {FRESH_FIX})")
    v = meta[field]
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(meta_path, field, v, "is not a whole number")
    if v < lo or (hi is not None and v > hi):
        raise _bad(meta_path, field, v, f"is out of range (a whole number from {lo}" +
                   (f" to {hi})" if hi is not None else " up)"))
    return v


def _number(meta_path: Path, meta: dict, field: str, lo: float, hi: float | None = None) -> float:
    """``meta[field]``, a finite number in ``[lo, hi]``."""
    if field not in meta:
        raise ValueError(f"{meta_path}: field {field} is missing; not resumed (fix: {FRESH_FIX})")
    v = meta[field]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise _bad(meta_path, field, v, "is not a finite number")
    if v < lo or (hi is not None and v > hi):
        raise _bad(meta_path, field, v, f"is out of range ({lo:g} to {hi:g})" if hi is not None else f"is below {lo:g}")
    return float(v)


def check_dqn_counters(meta_path: Path, meta: dict, state: dict, capacity: int) -> None:
    """Every counter of a DQN checkpoint's JSON of the right type and range, and matching the
    tensors of checkpoint.pt (the replay buffer's rows, the curves' rows): ValueError naming the
    file, the field, the value and the fix. ``capacity``: the replay buffer's (the preset's)."""
    pt = meta_path.with_name(CHECKPOINT_FILES[0])
    planned = _count(meta_path, meta, "episodes_planned", 1)
    _count(meta_path, meta, "episodes", 1)
    if meta["episodes"] > planned:
        raise _bad(meta_path, "episodes", meta["episodes"], f"is past the checkpoint's planned count "
                   f"(episodes_planned {planned})")
    steps = _count(meta_path, meta, "env_steps", 1)
    _count(meta_path, meta, "gradient_steps", 0, steps)
    _number(meta_path, meta, "epsilon", 0.0, 1.0)
    _number(meta_path, meta, "train_s", 0.0)
    size = _count(meta_path, meta, "buffer_size", 0, min(capacity, steps))
    if meta.get("exact_rows", None) not in (None, True, False):
        raise _bad(meta_path, "exact_rows", meta["exact_rows"], "is not true, false or null")
    if "agent_rng" not in meta:
        raise ValueError(f"{meta_path}: field agent_rng is missing; not resumed (fix: {FRESH_FIX})")
    try:
        np.random.default_rng().bit_generator.state = meta["agent_rng"]
    except (TypeError, ValueError, KeyError):
        raise _bad(meta_path, "agent_rng", meta["agent_rng"], "is not a numpy PCG64 state") from None
    if "agent_rng" in state and state["agent_rng"] != _rng_text(meta["agent_rng"]):  # older checkpoints: no copy
        raise _bad(meta_path, "agent_rng", meta["agent_rng"], f"does not match the agent's RNG state saved in {pt}")
    buffer, curves = state.get("buffer"), state.get("curves")
    names = BUFFER_FIELDS
    if not isinstance(buffer, dict) or set(buffer) != set(names) or not all(isinstance(v, torch.Tensor) for v in buffer.values()):
        raise ValueError(f"{pt}: field buffer: not the replay buffer's tensors ({', '.join(names)}); not resumed "
                         f"(fix: {FRESH_FIX})")
    if "buffer_encoding" in meta:  # packed (BUFFER_ENCODING): unpacked here, so the checks below see the arrays
        state["buffer"] = buffer = _unpacked(meta_path, meta, buffer, capacity)
    rows = {name: (int(v.shape[0]) if v.dim() else -1) for name, v in buffer.items()}
    if any(n != size for n in rows.values()):
        name = next(k for k, n in rows.items() if n != size)
        raise ValueError(f"{meta_path}: field buffer_size: {size}, but the replay buffer in {pt} holds {rows[name]} "
                         f"rows ({name}); the two do not match; not resumed (fix: {FRESH_FIX})")
    _count(meta_path, meta, "buffer_pos", 0, capacity - 1)
    if size < capacity and meta["buffer_pos"] != size:
        raise _bad(meta_path, "buffer_pos", meta["buffer_pos"], f"does not match buffer_size {size} (a buffer not "
                   f"yet full is filled up to its position)")
    if "curves_encoding" in meta:  # packed (CURVES_ENCODING); lists before
        if meta["curves_encoding"] != CURVES_ENCODING:
            raise _bad(meta_path, "curves_encoding", meta["curves_encoding"], f"is not {text_of(CURVES_ENCODING)}, "
                       f"the one this optdist reads")
        state["curves"] = curves = _unpacked_curves(meta_path, planned, curves)
    if not isinstance(curves, dict) or any(not isinstance(v, list) or len(v) != meta["episodes"] for v in curves.values()) \
            or not curves:
        have = {len(v) for v in curves.values() if isinstance(v, list)} if isinstance(curves, dict) else set()
        raise ValueError(f"{meta_path}: field episodes: {meta['episodes']}, but the curves in {pt} hold "
                         f"{'/'.join(map(str, sorted(have))) or 'no'} episodes; the two do not match; not resumed "
                         f"(fix: {FRESH_FIX})")


def _unpacked(meta_path: Path, meta: dict, buffer: dict, capacity: int) -> dict[str, torch.Tensor]:
    """The replay buffer's tensors of a checkpoint that holds them packed (:data:`BUFFER_ENCODING`),
    at most ``capacity`` rows each; ValueError naming the field and the fix for what does not unpack."""
    pt = meta_path.with_name(CHECKPOINT_FILES[0])
    if meta["buffer_encoding"] != BUFFER_ENCODING:
        raise _bad(meta_path, "buffer_encoding", meta["buffer_encoding"], f"is not {text_of(BUFFER_ENCODING)}, the one "
                   f"this optdist reads")
    columns = meta.get("buffer_columns")
    if not isinstance(columns, dict) or set(columns) != set(BUFFER_FIELDS) or any(
            isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 10**7 for c in columns.values()):
        raise _bad(meta_path, "buffer_columns", columns, f"is not a whole number >= 1 per array ({', '.join(BUFFER_FIELDS)})")
    like = ReplayBuffer(1, 1, 1)  # the arrays' dtypes and whether they are rows of one value or of several
    out = {}
    for name in BUFFER_FIELDS:
        arr = getattr(like, name)
        if arr.ndim == 1 and columns[name] != 1:
            raise _bad(meta_path, "buffer_columns", columns, f"gives {name} {columns[name]} values per row, not 1")
        got = unpack_rows(buffer[name], columns[name], arr.dtype, (columns[name],) if arr.ndim > 1 else (), capacity)
        if got is None:
            raise ValueError(f"{pt}: field buffer.{name}: not up to {capacity} rows of {columns[name]} {arr.dtype} "
                             f"values packed as {BUFFER_ENCODING} (checkpoint.json's buffer_columns); the file is "
                             f"damaged or not of this save; not resumed (fix: {FRESH_FIX})")
        out[name] = torch.from_numpy(got)
    return out


def check_ppo_counters(meta_path: Path, meta: dict) -> None:
    """Every counter of a MaskablePPO checkpoint's JSON of the right type and range (as
    :func:`check_dqn_counters`)."""
    import random

    planned = _count(meta_path, meta, "timesteps_planned", 1)
    steps = _count(meta_path, meta, "env_steps", 1)
    if steps > planned:
        raise _bad(meta_path, "env_steps", steps, f"is past the checkpoint's planned count (timesteps_planned {planned})")
    _count(meta_path, meta, "updates", 1)
    _count(meta_path, meta, "episode_num", 0, steps)
    _number(meta_path, meta, "train_s", 0.0)
    rng = meta.get("numpy_rng")
    if not (isinstance(rng, list) and len(rng) == 4 and rng[0] == "MT19937" and isinstance(rng[1], int)
            and not isinstance(rng[1], bool) and 0 <= rng[1] <= 624 and isinstance(rng[2], int)
            and isinstance(rng[3], (int, float))):
        raise _bad(meta_path, "numpy_rng", rng, "is not a numpy MT19937 state [name, position, has_gauss, gauss]")
    rnd = meta.get("random_rng")
    try:
        random.Random().setstate((rnd[0], tuple(rnd[1]), rnd[2]))
    except (TypeError, ValueError, KeyError, IndexError, OverflowError):
        raise _bad(meta_path, "random_rng", rnd, "is not a Python random state") from None


def _finished_policy(policy: object) -> str:
    """The hint " (its policy.json is of a training that ran to its end, ...)" where ``policy`` (a
    policy.json's document) is a DQN (:data:`POLICY_FORMAT`: its episodes) or MaskablePPO
    (:data:`optdist.rl.ppo.PPO_FORMAT`: its env steps) training's that no signal stopped; else ""."""
    from optdist.rl.ppo import PPO_FORMAT

    if not isinstance(policy, dict) or "interrupted" in policy:
        return ""
    if policy.get("format") == POLICY_FORMAT:
        return f" (its policy.json is of a training that ran to its end, {policy.get('episodes')} episodes)"
    if policy.get("format") == PPO_FORMAT:
        return (f" (its policy.json is of a MaskablePPO training that ran to its end, {policy.get('env_steps')} "
                "env steps)")
    return ""


def read_checkpoint(folder: Path, settings: dict) -> tuple[dict, dict]:
    """The JSON sidecar and the tensors of the checkpoint in ``folder`` (:func:`save_checkpoint`).
    ValueError (naming the file, the field and the fix) for a missing, unreadable or mismatched one:
    a setting that differs from ``settings`` (:data:`SETTING_FLAGS`), or files of two saves."""
    from optdist.checkpoint import CheckpointError, load_weights_only

    folder = Path(folder)
    meta_path, pt = folder / CHECKPOINT_FILES[1], folder / CHECKPOINT_FILES[0]
    fresh = "leave out --resume and give --force, or another --out, to train afresh"
    writes = (f"train-rl --algo maskable-ppo {PPO_WRITES}" if settings.get("algo") == "maskable-ppo" else
              "train-rl writes one when a signal stops it, and every --checkpoint-every episodes")
    if meta_path.is_dir():
        raise ValueError(f"--resume: {meta_path} is a directory, not a checkpoint's JSON file (fix: move it away, "
                         f"then {fresh})")
    if not meta_path.is_file() and pt.is_file():
        raise ValueError(f"--resume: {meta_path} is missing ({pt} is there without it): the checkpoint is incomplete "
                         f"and cannot be resumed (fix: {fresh})")
    if meta_path.is_file() and not pt.exists():
        raise ValueError(f"--resume: {pt} is missing ({meta_path} is there without it): the checkpoint is incomplete "
                         f"and cannot be resumed (fix: {fresh})")
    if not meta_path.is_file():
        done = ""
        with contextlib.suppress(OSError, ValueError):
            done = _finished_policy(json.loads((folder / "policy.json").read_text()))
        raise ValueError(f"--resume: {meta_path} not found: {folder} holds no checkpoint to resume{done} (fix: "
                         f"{fresh}; {writes})")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{meta_path}: not readable JSON ({e}) (fix: {fresh})") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT or not isinstance(meta.get("settings"), dict):
        raise ValueError(f"{meta_path}: field format: not a train-rl checkpoint ({CHECKPOINT_FORMAT}) (fix: {fresh})")
    for field, given in settings.items():
        have = meta["settings"].get(field)
        if field == "instance_sha256" and (have is None or given is None):
            continue
        if have != given:
            raise ValueError(_mismatch(folder, field, have, given))
    try:
        state = load_weights_only(pt)
    except CheckpointError as e:
        refused = re.match(r"refused by torch\.load\(weights_only=True\), it holds more than tensors \((.*)\); "
                           r"pickled objects", e.reason)
        if refused:  # save_checkpoint writes tensors only: a refusal is a damaged file or another one (fixd32b)
            raise ValueError(f"{pt}: not a readable checkpoint: damaged, or it holds more than tensors "
                             f"(torch.load(weights_only=True): {refused.group(1)}; pickled objects are never loaded, "
                             f"as they can run code) (fix: resume from an intact copy of {folder}, or {fresh})") from None
        raise ValueError(f"{pt}: {e.reason} (fix: resume from an intact copy of {folder}, or {fresh})") from None
    if not isinstance(state, dict) or state.get("save_id") != meta.get("save_id"):
        raise ValueError(f"{pt}: field save_id: not the save {meta_path} describes (the two files are of two saves; "
                         f"fix: {fresh})")
    return meta, state


def _restore(agent: DQNAgent, env: DistPrivacyEnv, meta: dict, state: dict, seed: int,
             folder: Path) -> tuple[np.ndarray, dict]:
    """Put a checkpoint's state into a new ``agent`` and ``env`` (reset with ``seed``, its pass's
    actions stepped again); the observation and info the next episode starts from."""
    try:
        agent.q.load_state_dict(state["q"])
        agent.target.load_state_dict(state["target"])
        agent.opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
    except (KeyError, RuntimeError, TypeError, ValueError) as e:
        raise ValueError(f"{folder / CHECKPOINT_FILES[0]}: the networks, optimiser or RNG state do not fit this "
                         f"training ({type(e).__name__}: {' '.join(str(e).split())[:300]}); not resumed "
                         f"(fix: {FRESH_FIX})") from None
    buf, n = agent.buffer, meta["buffer_size"]
    for name, values in state["buffer"].items():
        if tuple(values.shape[1:]) != getattr(buf, name).shape[1:]:
            raise ValueError(f"{folder / CHECKPOINT_FILES[0]}: field buffer.{name}: rows of shape "
                             f"{tuple(values.shape[1:])}, but this training's replay buffer takes "
                             f"{getattr(buf, name).shape[1:]}; not resumed (fix: {FRESH_FIX})")
        getattr(buf, name)[:n] = values.numpy()
    buf.size, buf.pos = n, meta["buffer_pos"]
    agent.rng.bit_generator.state = meta["agent_rng"]
    agent.steps, agent.exact_rows = meta["env_steps"], meta["exact_rows"]
    obs, info = env.reset(seed=seed)
    for a in state["pass_actions"].tolist():
        obs, _, done, _, info = env.step(a)
        if done:
            obs, info = env.reset()
    if env.pass_actions != state["pass_actions"].tolist():
        raise ValueError(f"{folder / CHECKPOINT_FILES[0]}: field pass_actions: the environment did not come back to "
                         "the checkpoint's state (fix: leave out --resume and give --force to train afresh)")
    return obs, info


def stop_signal_name() -> str:
    """The name of the signal that stopped the training (:func:`~optdist.solvers.base.signals_received`)."""
    from optdist.solvers.base import signals_received

    got = signals_received()
    return signal.Signals(got[0]).name if got else "SIGINT"


#: the attribute of a saved policy's ``state_dict`` (an ``OrderedDict``) that holds the training
#: fields of its ``policy.json`` as written (:func:`save_state_dict`)
TRAINED_WITH = "optdist_trained_with"
#: fields of ``policy.json`` not recorded in ``policy.pt``: measurements, not settings
UNRECORDED = ("train_s",)


def save_state_dict(state: dict[str, torch.Tensor], config: dict, pt: Path) -> None:
    """Write ``state`` (a ``state_dict``) to ``pt`` with ``config``'s fields (but :data:`UNRECORDED`)
    as the JSON ``policy.json`` holds them, in its attribute :data:`TRAINED_WITH`: plain dicts,
    lists, strings and numbers, so ``torch.load(weights_only=True)`` reads the file, and
    ``net.load_state_dict`` ignores the attribute. Loading compares ``policy.json`` with it
    (:func:`optdist.rl.policy.check_trained_with`): an edited field is refused, not run with
    settings the network was not trained with."""
    state.__dict__[TRAINED_WITH] = json.loads(json_dumps({k: v for k, v in config.items() if k not in UNRECORDED}))
    with atomic_path(pt) as tmp:
        torch.save(state, tmp)


def save_policy(res: TrainResult, out: str | Path) -> Path:
    """Write ``policy.pt`` (:func:`save_state_dict`) and ``policy.json`` into ``out``; returns the folder."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_state_dict(res.agent.q.state_dict(), res.config, out / "policy.pt")
    atomic_write_json(out / "policy.json", {**res.config, "train_s": res.train_s})
    return out


def smooth(x: pd.Series, window: int) -> pd.Series:
    return x.rolling(window, min_periods=1).mean()


def write_curves(curves: pd.DataFrame, out: str | Path, title: str, window: int = 50, marks: dict[str, int] | None = None) -> tuple[Path, Path]:
    """``curves.csv`` and ``curves.png``: reward, latency penalty, constraint satisfaction per episode.

    ``marks``: labelled episodes to draw as vertical lines (e.g. devices leaving).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "curves.csv"
    atomic_write_text(csv, curves.to_csv(index=False))
    panels = (("reward", "return per episode"), ("latency_penalty_ms", "latency penalty (ms)"), ("constraints_met", "constraints met"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, (col, label) in zip(axes, panels):
        ax.plot(curves["episode"], curves[col], color="0.8", lw=0.5)
        ax.plot(curves["episode"], smooth(curves[col], window), color="C0", lw=1.5, label=f"mean of {window}")
        for name, ep in (marks or {}).items():
            ax.axvline(ep, color="C3", ls="--", lw=1)
            ax.text(ep, ax.get_ylim()[1], f" {name}", color="C3", va="top", fontsize=8)
        ax.set_xlabel("episode (one layer)")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = out / "curves.png"
    with atomic_path(png, keep_suffix=True) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return csv, png
