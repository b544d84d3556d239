"""The Merkle tree against the Certificate Transparency reference vectors (RFC 6962 /
RFC 9162): roots of trees of 0..8 leaves, inclusion and consistency proofs, and the
verification algorithms on every proof of trees up to 70 leaves.

Vectors: google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc (kSHA256Roots,
sha256_inclusion proofs, sha256_consistency proofs), also in Trillian's
merkle/testonly/constants.go (LeafInputs, RootHashes, InclusionProofs, ConsistencyProofs).
"""

from __future__ import annotations

import hashlib

import pytest

from talentop.store.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
# (old size, new size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

TREE = MerkleTree([leaf_hash(d) for d in LEAVES])


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH, written straight from its recursive definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference_vectors(size):
    assert TREE.root(size).hex() == ROOTS[size]
    assert MerkleTree([leaf_hash(d) for d in LEAVES[:size]]).root().hex() == ROOTS[size]
    assert EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(index, size, path):
    assert [h.hex() for h in TREE.inclusion_proof(index, size)] == path
    proof = [bytes.fromhex(h) for h in path]
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), proof, root)
    assert not verify_inclusion(index, size, leaf_hash(b"forged"), proof, root)
    assert not verify_inclusion(index + 1, size, leaf_hash(LEAVES[index]), proof, root)


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_vectors(old, new, path):
    assert [h.hex() for h in TREE.consistency_proof(old, new)] == path
    proof = [bytes.fromhex(h) for h in path]
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, proof)
    if old != new:
        assert not verify_consistency(old, new, bytes.fromhex(ROOTS[old - 1]), new_root, proof)
        assert not verify_consistency(old, new, old_root, bytes.fromhex(ROOTS[new - 1]), proof)


def test_every_proof_of_every_tree_up_to_70_leaves_verifies_and_fails_when_altered():
    """The tree's roots equal the RFC's recursive MTH; each inclusion and consistency
    proof verifies; changing any hash of a proof makes it fail."""
    data = [i.to_bytes(2, "big") for i in range(70)]
    tree = MerkleTree([leaf_hash(d) for d in data])
    roots = [mth(data[:n]) for n in range(71)]
    for n in range(71):
        assert tree.root(n) == roots[n]
    for n in range(1, 71):
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert verify_inclusion(i, n, leaf_hash(data[i]), proof, roots[n])
            if proof:
                bad = [*proof[:-1], node_hash(proof[-1], proof[-1])]
                assert not verify_inclusion(i, n, leaf_hash(data[i]), bad, roots[n])
        for m in range(0, n + 1):
            proof = tree.consistency_proof(m, n)
            assert verify_consistency(m, n, roots[m], roots[n], proof)
            if proof:
                bad = [node_hash(proof[0], proof[0]), *proof[1:]]
                assert not verify_consistency(m, n, roots[m], roots[n], bad)


@pytest.mark.parametrize("cuts", [(), (1,), (3, 4), (1, 2, 3, 5, 8), (7,), (2, 6)])
def test_a_tree_extended_in_steps_is_the_tree_built_at_once(cuts):
    """Extending a tree (what a periodic checkpointer does between ticks) gives every level,
    root and proof of the tree built from all leaves at once: the reference roots above for
    the 8 CT leaves, split at ``cuts``."""
    hashes = [leaf_hash(x) for x in LEAVES]
    tree = MerkleTree([])
    for start, end in zip((0, *cuts), (*cuts, len(hashes)), strict=True):
        tree.extend(hashes[start:end])
        assert tree.root().hex() == ROOTS[end]
    whole = MerkleTree(hashes)
    assert tree.levels == whole.levels
    assert tree.consistency_proof(3, 8) == whole.consistency_proof(3, 8)
