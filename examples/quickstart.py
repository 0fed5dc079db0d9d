"""Train a small MLP on two interleaved spirals with the four steps of backpropagation, by hand.

Forward pass, loss, backward pass, update W ← W − α·∂L/∂W, over mini-batches and epochs.
"""
import numpy as np

import deltaprop as dp


def spirals(n_per_class: int, rng: np.random.Generator):
    t = rng.uniform(0.25, 1.0, size=2 * n_per_class) * 3 * np.pi
    labels = np.repeat([0, 1], n_per_class)
    angle = t + np.pi * labels
    X = np.column_stack([t * np.cos(angle), t * np.sin(angle)]) / (3 * np.pi)
    return X + rng.normal(0, 0.02, size=X.shape), labels


rng = np.random.default_rng(0)
X, y = spirals(500, rng)
order = rng.permutation(len(X))
X_train, y_train, X_test, y_test = X[order[:800]], y[order[:800]], X[order[800:]], y[order[800:]]

model = dp.mlp([2, 64, 64, 2], activation="relu", seed=0)
loss = dp.CrossEntropy()
alpha, batch_size = 0.1, 32
for epoch in range(300):
    shuffled = rng.permutation(len(X_train))
    for start in range(0, len(shuffled), batch_size):
        batch = shuffled[start:start + batch_size]
        loss.forward(model.forward(X_train[batch], training=True), y_train[batch])   # forward pass, loss
        model.backward(loss.backward())                                            # backward pass
        for param in model.parameters():                                           # update
            param.value -= alpha * param.grad
accuracy = np.mean(model.predict(X_test).argmax(axis=1) == y_test)
print(f"two spirals: test accuracy {accuracy:.1%} after 300 epochs")
