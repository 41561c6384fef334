"""Writes fixtures/hostile/: small ONNX models that register_model must refuse (invalid_model).

Each declares a tensor stored as external data, which onnxruntime would read from a file outside
the artifact; the server refuses them before onnxruntime sees the bytes. Run via
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
"""
import os

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
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, make in MODELS.items():
        made = make()
        data = made if isinstance(made, bytes) else made.SerializeToString(deterministic=True)
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
