"""Training: the `Trainer` (fit / evaluate / predict), callbacks, metrics, progress and history.

``Trainer.fit`` calls ``Trainer.train_step`` on every batch; a subclass overrides the step to
train a model otherwise (``chainrule.models.gan.GANTrainer``: two optimisers, two updates).

Example:
    >>> from chainrule.train import Trainer, EarlyStopping
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
    ...                   metrics=["accuracy"], callbacks=[EarlyStopping(patience=5)])
    >>> history = trainer.fit((X, y), val=(X_val, y_val), epochs=50, seed=0)
"""

from chainrule.train import metrics  # noqa: F401
from chainrule.train.batches import as_loader  # noqa: F401
from chainrule.train.callbacks import (  # noqa: F401
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    ModelCheckpoint,
    TerminateOnNaN,
)
from chainrule.train.history import History  # noqa: F401
from chainrule.train.lr_callbacks import LearningRateScheduler, ReduceLROnPlateau  # noqa: F401
from chainrule.train.metrics import (  # noqa: F401
    Metric,
    accuracy,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision,
    r2_score,
    recall,
    root_mean_squared_error,
    top_k_accuracy,
)
from chainrule.train.progress import ProgressBar  # noqa: F401
from chainrule.train.tensorboard import TensorBoard  # noqa: F401
from chainrule.train.trainer import Trainer  # noqa: F401
