"""Ranking per-part tensors by activity (core.maps.rank_parts)."""
import torch

from brnpa_plugins.core.maps import rank_by_activity, rank_parts


def test_rank_parts_sorts_every_tensor_along_the_part_dimension():
    activity = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.5, 0.9]])
    maps = torch.arange(2 * 3 * 2 * 2.).reshape(2, 3, 2, 2)
    vectors = torch.arange(2 * 3 * 4.).reshape(2, 3, 4)
    seeds = torch.tensor([[10, 11, 12], [20, 21, 22]])
    ranked_activity, ranked_maps, ranked_vectors, ranked_seeds = rank_parts(
        activity, activity, maps, vectors, seeds)
    # descending; the tie of image 1 keeps its order (part 0 before 1)
    order = [[1, 2, 0], [2, 0, 1]]
    assert ranked_seeds.tolist() == [[11, 12, 10], [22, 20, 21]]
    for b in range(2):
        assert torch.equal(ranked_activity[b], activity[b, order[b]])
        assert torch.equal(ranked_maps[b], maps[b, order[b]])
        assert torch.equal(ranked_vectors[b], vectors[b, order[b]])


def test_rank_by_activity_is_rank_parts_of_the_maps():
    generator = torch.Generator().manual_seed(0)
    activity = torch.rand(4, 5, generator=generator)
    maps = torch.rand(4, 5, 3, 3, generator=generator)
    assert torch.equal(rank_by_activity(maps, activity),
                       rank_parts(activity, maps)[0])
    # extra leading dimensions
    assert torch.equal(rank_by_activity(maps[None], activity[None])[0],
                       rank_parts(activity, maps)[0])
