"""flare's JavaScript Generator (mulberry32 + Fisher-Yates, src/tensor/random.ts)
in Python, so a PyTorch benchmark can shuffle in exactly flare's order."""

M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & M32


class Generator:
    def __init__(self, seed=0):
        self.state = seed & M32

    def random(self):
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296

    def permutation(self, n):
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(self.random() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out
