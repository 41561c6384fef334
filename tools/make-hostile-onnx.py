"""Writes fixtures/hostile/: small ONNX models that register_model must refuse, or that must not
stall or bloat the server when they are served.

The external-* models declare a tensor stored as external data, which onnxruntime would read from
a file outside the artifact; the server refuses them before onnxruntime sees the bytes. Run via
tools/make-hostile-onnx.sh (the pinned venv); output is deterministic.

  external-absolute.onnx      initializer "W", location "/etc/hostname"
  external-dotdot.onnx        initializer "W", location "../../../../../../etc/hostname"
  external-relative.onnx      initializer "W", location "secret.bin" (resolved against the server's cwd)
  external-constant-attr.onnx a Constant node's value attribute tensor, location "secret.bin"
  external-if-subgraph.onnx   an initializer inside an If node's then_branch, location "secret.bin"
  external-sparse.onnx        a sparse_initializer's values tensor, location "secret.bin"
  external-function.onnx      a Constant node inside a model-local function, location "secret.bin"
  external-flag-only.onnx     data_location = EXTERNAL with no external_data entries
  deep-subgraphs.onnx         If nodes nested 70 levels deep (the limit is 64), no external data
  zipmap-in-if.onnx           its output, a sequence of maps, comes from ZipMaps inside an If node's
                              branches: no ZipMap of the main graph to leave out, so it cannot be
                              served as a tensor

Models that cost what their size does not say (input X: float [N, 1], output Y: float [N, 1], Y = X
unless noted). Loading or a run on a row of zeros, as registration does, decides the first three:
  loop-forever.onnx           a Loop of 10^12 iterations (constant trip count): never ends
  constant-of-shape.onnx      ConstantOfShape of [2^28] float (1 GiB), folded while loading
  expand-constant.onnx        X expanded to [2^30, 1] float (4 GiB) on every run
Registration passes these (a row of zeros costs nothing), a crafted row does not:
  loop-from-input.onnx        a Loop of max(X) iterations (~1 µs each)
  expand-from-input.onnx      X expanded to [max(X), 1] float (4·max(X) bytes), summed to nothing
  big-graph.onnx (only with --big DIR, written to DIR: ~1 MB) 40 000 Add nodes in a chain
"""
import os
import sys

from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "hostile")
FLOAT = TensorProto.FLOAT


def external(name, location, dims=(4,), entries=True):
    t = TensorProto(name=name, data_type=FLOAT, dims=list(dims), data_location=TensorProto.EXTERNAL)
    if entries:
        for key, value in (("location", location), ("offset", "0"), ("length", str(4 * dims[0]))):
            e = t.external_data.add()
            e.key, e.value = key, value
    return t


def io(name):
    return helper.make_tensor_value_info(name, FLOAT, [4])


def model(nodes, initializer=(), sparse=(), functions=(), opsets=(("", 13),)):
    g = helper.make_graph(nodes, "g", [io("X")], [io("Y")], initializer=list(initializer), sparse_initializer=list(sparse))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], functions=list(functions))
    m.ir_version = 8
    return m


def add_w(location, **kw):
    return model([helper.make_node("Add", ["X", "W"], ["Y"])], initializer=[external("W", location, **kw)])


def constant_attr():
    const = helper.make_node("Constant", [], ["W"], value=external("C", "secret.bin"))
    return model([const, helper.make_node("Add", ["X", "W"], ["Y"])])


def branch(name, inner_nodes, initializer=()):
    return helper.make_graph(inner_nodes, name, [], [io(name + "_out")], initializer=list(initializer))


def if_subgraph():
    then_g = branch("then", [helper.make_node("Identity", ["W"], ["then_out"])], [external("W", "secret.bin")])
    else_g = branch("else", [helper.make_node("Identity", ["X"], ["else_out"])])
    cond = helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL, [], [True]))
    return model([cond, helper.make_node("If", ["cond"], ["Y"], then_branch=then_g, else_branch=else_g)])


def sparse():
    values = external("S_values", "secret.bin", dims=(1,))
    indices = helper.make_tensor("S_indices", TensorProto.INT64, [1], [0])
    s = helper.make_sparse_tensor(values, indices, [4])
    return model([helper.make_node("Add", ["X", "S_values"], ["Y"])], sparse=[s])


def function():
    body = [
        helper.make_node("Constant", [], ["W"], value=external("F", "secret.bin")),
        helper.make_node("Add", ["x", "W"], ["y"]),
    ]
    f = helper.make_function("local", "AddSecret", ["x"], ["y"], body, [helper.make_opsetid("", 13)])
    return model([helper.make_node("AddSecret", ["X"], ["Y"], domain="local")], functions=[f], opsets=(("", 13), ("local", 1)))


def deep(levels=70):
    # Protobuf's own decoders refuse such depth, so the nesting is spliced in as raw wire bytes.
    def ld(field, payload):  # a length-delimited field
        n, size = field << 3 | 2, len(payload)
        out = bytearray([n])
        while True:
            out.append(size & 0x7F | (0x80 if size > 0x7F else 0))
            size >>= 7
            if not size:
                return bytes(out) + payload

    leaf = branch("leaf", [helper.make_node("Identity", ["X"], ["leaf_out"])]).SerializeToString(deterministic=True)
    inner = leaf
    for i in range(levels):
        # GraphProto{node: NodeProto{input "cond", output, op_type "If", attribute then_branch=inner, else_branch=leaf}}
        attrs = b"".join(ld(5, ld(1, name.encode()) + b"\xa0\x01\x05" + ld(6, g)) for name, g in (("then_branch", inner), ("else_branch", leaf)))
        node = ld(1, b"cond") + ld(2, f"b{i}_out".encode()) + ld(4, b"If") + attrs
        inner = ld(1, node) + ld(2, f"b{i}".encode())
    m = model([helper.make_node("Identity", ["X"], ["Y"])])
    return m.SerializeToString(deterministic=True) + ld(7, inner)  # a second graph field: protobuf merges it into the first


def zipmap_in_if():
    seq_map = helper.make_sequence_type_proto(helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(FLOAT, [])))
    x = helper.make_tensor_value_info("X", FLOAT, [None, 2])
    def zipmap_branch(name, labels):
        node = helper.make_node("ZipMap", ["X"], [name + "_out"], domain="ai.onnx.ml", classlabels_int64s=labels)
        return helper.make_graph([node], name, [], [helper.make_value_info(name + "_out", seq_map)])
    cond = helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL, [], [True]))
    choose = helper.make_node("If", ["cond"], ["Y"], then_branch=zipmap_branch("then", [0, 1]), else_branch=zipmap_branch("else", [1, 0]))
    g = helper.make_graph([cond, choose], "g", [x], [helper.make_value_info("Y", seq_map)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16), helper.make_opsetid("ai.onnx.ml", 1)])
    m.ir_version = 8
    return m


def xy(nodes, initializer=(), opset=13):
    x = helper.make_tensor_value_info("X", FLOAT, [None, 1])
    y = helper.make_tensor_value_info("Y", FLOAT, [None, 1])
    m = helper.make_model(helper.make_graph(nodes, "g", [x], [y], initializer=list(initializer)), opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def int64s(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def counting_loop(trip):
    """Nodes that run a Loop of `trip` (an int64 scalar's name) iterations adding 1, then Y = X + 0 * count."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("v_in", FLOAT, []),
        ],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", FLOAT, [])],
        initializer=[helper.make_tensor("one", FLOAT, [], [1.0])],
    )
    return [
        helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL, [], [True])),
        helper.make_node("Constant", [], ["v0"], value=helper.make_tensor("z", FLOAT, [], [0.0])),
        helper.make_node("Loop", [trip, "cond", "v0"], ["count"], body=body),
        helper.make_node("Mul", ["count", "zero"], ["nothing"]),
        helper.make_node("Add", ["X", "nothing"], ["Y"]),
    ]


def zero():
    return helper.make_tensor("zero", FLOAT, [], [0.0])


def max_of_x_as_int64(out):
    """max(X) as an int64 scalar named `out`."""
    return [
        helper.make_node("ReduceMax", ["X"], ["mx"], keepdims=0),
        helper.make_node("Cast", ["mx"], [out], to=TensorProto.INT64),
    ]


def loop_forever():
    trip = helper.make_tensor("trip", TensorProto.INT64, [], [10**12])
    return xy(counting_loop("trip"), initializer=[trip, zero()])


def loop_from_input():
    return xy(max_of_x_as_int64("trip") + counting_loop("trip"), initializer=[zero()])


def constant_of_shape():
    # Y = X + C[0:1] (a [1] slice of 2^28 zeros): constant folding makes all of C while loading
    # (onnxruntime 1.30 folds outputs up to 1 GiB, this one exactly).
    fill = helper.make_tensor("fill", FLOAT, [1], [0.0])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["C"], value=fill),
        helper.make_node("Slice", ["C", "s0", "s1"], ["c1"]),
        helper.make_node("Add", ["X", "c1"], ["Y"]),
    ]
    return xy(nodes, initializer=[int64s("shape", [2**28]), int64s("s0", [0]), int64s("s1", [1])])


def expand_constant():
    # Y = X + sum(Expand(X, [2^30, 1])) * 0: the sum keeps Y's shape, the run makes all 4 GiB.
    nodes = [
        helper.make_node("Expand", ["X", "shape"], ["E"]),
        helper.make_node("ReduceSum", ["E"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["nothing"]),
        helper.make_node("Add", ["X", "nothing"], ["Y"]),
    ]
    return xy(nodes, initializer=[int64s("shape", [2**30, 1]), zero()])


def expand_from_input():
    nodes = max_of_x_as_int64("rows") + [
        helper.make_node("Unsqueeze", ["rows", "axis0"], ["rows1"]),
        helper.make_node("Concat", ["rows1", "one_col"], ["shape"], axis=0),
        helper.make_node("Expand", ["X", "shape"], ["E"]),
        helper.make_node("ReduceSum", ["E"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["nothing"]),
        helper.make_node("Add", ["X", "nothing"], ["Y"]),
    ]
    return xy(nodes, initializer=[int64s("axis0", [0]), int64s("one_col", [1]), zero()])


def big_graph(nodes=40_000):
    chain = [helper.make_node("Add", ["X" if i == 0 else f"a{i - 1}", "one"], [f"a{i}" if i < nodes - 1 else "Y"]) for i in range(nodes)]
    return xy(chain, initializer=[helper.make_tensor("one", FLOAT, [], [0.0])])


MODELS = {
    "external-absolute.onnx": lambda: add_w("/etc/hostname"),
    "external-dotdot.onnx": lambda: add_w("../../../../../../etc/hostname"),
    "external-relative.onnx": lambda: add_w("secret.bin"),
    "external-constant-attr.onnx": constant_attr,
    "external-if-subgraph.onnx": if_subgraph,
    "external-sparse.onnx": sparse,
    "external-function.onnx": function,
    "external-flag-only.onnx": lambda: add_w("", entries=False),
    "deep-subgraphs.onnx": deep,
    "zipmap-in-if.onnx": zipmap_in_if,
    "loop-forever.onnx": loop_forever,
    "loop-from-input.onnx": loop_from_input,
    "constant-of-shape.onnx": constant_of_shape,
    "expand-constant.onnx": expand_constant,
    "expand-from-input.onnx": expand_from_input,
}

def write(directory, name, made):
    data = made if isinstance(made, bytes) else made.SerializeToString(deterministic=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--big"]:
        os.makedirs(sys.argv[2], exist_ok=True)
        write(sys.argv[2], "big-graph.onnx", big_graph())
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    for name, make in MODELS.items():
        write(OUT, name, make())
