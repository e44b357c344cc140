"""Base-class classifier for pre-training the embedding network.

Pre-training is standard classification of all base (training) classes: the
concatenated part vectors go through dropout and a bias-free linear layer,
the classification head the BR-NPA authors used (spec section 3).
"""
from torch import Tensor, nn

from ..core.checks import check_probability, reject_unknown_kwargs
from .protonet import BRNPAProtoNet


@reject_unknown_kwargs
class BaseClassifier(nn.Module):
    """Linear classification of the learner's embedding.

    Args:
        learner (BRNPAProtoNet): The few-shot learner whose embedding is
            trained; it is shared, not copied.
        num_classes (int): Number of base classes.
        dropout (float): Dropout probability before the linear layer.
            Defaults to 0.
    """

    def __init__(self,
                 learner: BRNPAProtoNet,
                 num_classes: int,
                 dropout: float = 0.0):
        super().__init__()
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(
                f'num_classes must be an integer >= 2, got {num_classes!r}')
        check_probability(dropout, 'dropout', 'BaseClassifier: ',
                          'set model.dropout (0 turns dropout off).')
        self.learner = learner
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(learner.embedding_dim, num_classes, bias=False)

    def forward(self, images: Tensor) -> Tensor:
        parts = self.learner.embed(images).features
        return self.fc(self.dropout(parts.flatten(1)))
