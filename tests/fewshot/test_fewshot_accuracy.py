"""Accuracy over episodes with its 95% interval, in percent, through the
evaluator the configs use (BRNPAEpisodeAccuracy)."""
import pytest
import torch

from brnpa_plugins.fewshot import (BRNPAEpisodeAccuracy, BRNPAEpisodeDataset,
                                   BRNPAProtoNet, confidence_interval,
                                   percent_result)
from brnpa_plugins.fewshot.accuracy import query_accuracy


def episode_accuracies(model, dataset):
    """The query accuracy (a fraction) of ``model`` in eval mode on every
    episode of ``dataset``."""
    model.eval()
    accuracies = []
    with torch.no_grad():
        for index in range(len(dataset)):
            item = dataset[index]
            logits = model(item['inputs']['support'],
                           item['data_samples']['support_labels'],
                           item['inputs']['query'])
            labels = item['data_samples']['query_labels']
            accuracies.append(query_accuracy(logits, labels).item())
    return accuracies


def evaluate(model, dataset):
    """The evaluator's metrics over every episode of ``dataset``."""
    metric = BRNPAEpisodeAccuracy()
    metric.process(None, [dict(accuracy=accuracy) for accuracy in
                          episode_accuracies(model, dataset)])
    return metric.compute_metrics(metric.results)


def test_evaluation_reports_accuracy_and_confidence_interval(pickle_root):
    def episodes(seed):
        return BRNPAEpisodeDataset('mini-imagenet', pickle_root, 'test',
                                   ways=5, shots=2, queries=2,
                                   num_episodes=6, seed=seed, image_size=32)

    torch.manual_seed(0)
    model = BRNPAProtoNet(widths=(8, 16, 32, 64))
    first = evaluate(model, episodes(5))
    assert first['episodes'] == 6
    assert 0 <= first['accuracy'] <= 100 and first['ci95'] >= 0
    # The same seed gives the same episodes, another seed others.
    assert evaluate(model, episodes(5)) == first
    assert evaluate(model, episodes(6)) != first


def test_confidence_interval_is_the_student_95_percent_half_width():
    from scipy import stats
    values = torch.tensor([0.2, 0.4, 0.6, 0.8])
    result = confidence_interval(values)
    assert result.mean == pytest.approx(0.5)
    assert result.ci95 == pytest.approx(
        stats.t.ppf(0.975, 3) * values.std().item() / 2, rel=1e-6)
    assert confidence_interval(torch.tensor([0.7])).ci95 == 0.0


def test_results_are_printed_in_percent_as_papers_do():
    result = percent_result(confidence_interval(
        torch.tensor([0.6, 0.62, 0.64, 0.66])))
    assert result['accuracy_pct'] == pytest.approx(63.0)
    assert result['result'] == \
        f"63.0 \u00b1 {result['ci95_pct']:.1f}"
    assert result['ci95_pct'] == pytest.approx(100 * confidence_interval(
        torch.tensor([0.6, 0.62, 0.64, 0.66])).ci95)
    assert percent_result(confidence_interval(torch.tensor([0.5])),
                          decimals=2)['result'] == '50.00 \u00b1 0.00'
