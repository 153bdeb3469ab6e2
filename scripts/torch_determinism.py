"""Pins every machine-dependent choice PyTorch makes on the CPU, so golden
files are byte-identical from one machine to the next (same Debian torch).

Last-bit differences between machines come from (1) thread counts, which
change how reductions are split, (2) the SIMD level ATen dispatches to
(AVX2 vs AVX-512 kernels sum in different orders), (3) the kernel OpenBLAS
picks for the CPU it finds, and (4) oneDNN's own ISA choice. Each is pinned
here to a level every x86-64 CPU has. Call `pin_environment()` before
`import torch` (the libraries read these variables when they load), then
`pin_torch(torch)`.
"""

import os
import re
import sys

PINNED_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # ATen's vectorised kernels: the portable (non-AVX) build of each.
    "ATEN_CPU_CAPABILITY": "default",
    # OpenBLAS (Debian builds it with DYNAMIC_ARCH): the SSE3 kernels, present on every x86-64 CPU.
    "OPENBLAS_CORETYPE": "Prescott",
    "DNNL_MAX_CPU_ISA": "SSE41",
}


def pin_environment():
    """Sets PINNED_ENV; True when it could take effect. When torch is already
    loaded (a script that imports make-goldens.py as a module after its own
    `import torch`), the libraries have read their settings: nothing is changed
    and False is returned, so that script's own choices stand."""
    if "torch" in sys.modules:
        return False
    os.environ.update(PINNED_ENV)
    return True


def pin_torch(torch):
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.mkldnn.enabled = False


def describe(torch):
    """One line naming what the goldens depend on, printed by each run."""
    maps = open("/proc/self/maps").read() if os.path.exists("/proc/self/maps") else ""
    blas = sorted(set(re.findall(r"/\S*lib(?:open)?blas\S*\.so[\w.]*", maps)))
    config = torch.__config__.show()
    capability = re.search(r"CPU capability usage: ([^\n]+)", config)
    return (
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"ATen CPU capability {capability.group(1) if capability else '?'}, "
        f"BLAS {', '.join(os.path.basename(b) for b in blas) or '?'} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')})"
    )
