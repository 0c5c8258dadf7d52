"""PyTorch CPU peer: the same FA network trained the way biotorch does it.

A custom autograd Function whose backward sends the error through the fixed
feedback matrix B instead of W^T. Same initial weights (read from an .npz written
by the driver), same batch order, same SGD with momentum and decay, same loss
(softmax cross-entropy, or MSE on sigmoid outputs) and hidden nonlinearity.
Run by benchmarks/bench_fa_fashion_mnist.py in its own Python 3.11 environment.
Prints one JSON line: {"seconds_per_epoch": ..., "test_accuracy": ...}.
"""

import json
import sys
import time

import numpy as np
import torch


class FALinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, fb):
        ctx.save_for_backward(x, fb)
        return x @ w.t() + b

    @staticmethod
    def backward(ctx, grad_out):
        x, fb = ctx.saved_tensors
        grad_x = grad_out @ fb if ctx.needs_input_grad[0] else None  # B in place of W
        return grad_x, grad_out.t() @ x, grad_out.sum(0), None


def main(npz_path, epochs, threads):
    torch.set_num_threads(threads)
    d = np.load(npz_path)
    dtype = torch.float64 if str(d["dtype"]) == "float64" else torch.float32
    t = lambda a: torch.tensor(a, dtype=dtype)  # noqa: E731
    x_tr, y_tr, x_te, y_te = t(d["x_train"]), t(d["y_train"]), t(d["x_test"]), t(d["y_test"])
    w1, w2 = t(d["W1"]).requires_grad_(), t(d["W2"]).requires_grad_()
    b1, b2 = t(d["b1"]).requires_grad_(), t(d["b2"]).requires_grad_()
    fb2 = t(d["B1"]).t().contiguous()  # shaped like W2, (n_out, n_hidden), as biotorch stores B
    opt = torch.optim.SGD([w1, b1, w2, b2], lr=float(d["eta"]), momentum=float(d["momentum"]))
    orders = d["orders"]
    ce = str(d["loss"]) == "cross_entropy"
    act = torch.relu if str(d["hidden"]) == "relu" else torch.tanh
    bs = int(d["batch_size"])
    seconds = []
    for ep in range(epochs):
        order = torch.tensor(orders[ep])
        t0 = time.perf_counter()
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            xb, yb = x_tr[idx], y_tr[idx]
            h = act(xb @ w1.t() + b1)
            a2 = FALinearFn.apply(h, w2, b2, fb2)
            if ce:  # softmax cross-entropy, mean over the batch, as the reference
                loss = torch.nn.functional.cross_entropy(a2, yb)
            else:  # sum over outputs, mean over the batch: the reference's delta-rule scale
                loss = 0.5 * ((torch.sigmoid(a2) - yb) ** 2).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
        for group in opt.param_groups:
            group["lr"] *= float(d["lr_decay"])
    with torch.no_grad():
        h = act(x_te @ w1.t() + b1)
        acc = ((h @ w2.t() + b2).argmax(1) == y_te.argmax(1)).double().mean()
    print(json.dumps({"seconds_per_epoch": float(np.median(seconds)), "epochs": epochs,
                      "test_accuracy": float(acc), "threads": threads,
                      "torch": torch.__version__, "dtype": str(dtype)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
