"""A short description of the machine a run trained on, saved beside its timings."""

import os
import platform
from pathlib import Path


def describe_machine() -> dict:
    """CPU model and logical cores, GPUs seen by TensorFlow, and the TensorFlow version."""
    import tensorflow as tf

    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count(),
        "gpus": len(tf.config.list_physical_devices("GPU")),
        "tensorflow": tf.__version__,
    }


def cpuinfo_field(name: str) -> str | None:
    """The first value of a field in /proc/cpuinfo (Linux), or None."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.split(":", 1)[0].strip() == name:
                return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The instruction-set flags the CPU reports (empty where /proc/cpuinfo is missing)."""
    return set((cpuinfo_field("flags") or "").split())


def machine_summary(machine: dict) -> str:
    """One line, such as "2 logical cores (AMD EPYC), no GPU, TensorFlow 2.21.0"."""
    gpus = f"{machine['gpus']} GPU(s)" if machine["gpus"] else "no GPU"
    return f"{machine['logical_cores']} logical cores ({machine['cpu']}), {gpus}, TensorFlow {machine['tensorflow']}"


def cpu_summary() -> str:
    """One line without TensorFlow, such as "2 logical cores (AMD EPYC)", for what runs on onnxruntime."""
    return f"{os.cpu_count()} logical cores ({cpu_model()})"
