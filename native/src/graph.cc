// See graph.h. The checks here are the contract every backend relies on: a backend may assume the
// shapes and dtypes of each node are consistent and only handles the dtypes listed per op.
#include "graph.h"

namespace px {
namespace {

[[noreturn]] void fail(Op op, const std::string& what) {
  throw EngineError(ErrorKind::Internal, std::string(op_name(op)) + ": " + what);
}

void need(bool ok, Op op, const std::string& what) {
  if (!ok) fail(op, what);
}

bool is_float(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

void need_f32(const Tensor& t, Op op, const char* role) {
  need(!t.empty() && t.dtype == DType::F32, op, std::string(role) + " must be an f32 tensor, got " + (t.empty() ? "none" : t.shape()));
}

void need_i32_row(const Tensor& t, int64_t n, Op op, const char* role) {
  need(!t.empty() && t.dtype == DType::I32 && t.rows == 1 && t.cols == n, op,
       std::string(role) + " must be i32[1, " + std::to_string(n) + "], got " + (t.empty() ? "none" : t.shape()));
}

// A weight-like operand read whole (norm weights, biases): any float dtype.
void need_weight(const Tensor& t, Op op, const char* role) {
  need(!t.empty() && is_float(t.dtype), op, std::string(role) + " has unsupported type " + (t.empty() ? "none" : t.shape()));
}

// A matrix read by rows (matmul weights, embedding tables): any float or block dtype.
void need_matrix(const Tensor& t, Op op, const char* role) {
  need(!t.empty() && (is_float(t.dtype) || t.dtype == DType::Q8_0 || t.dtype == DType::Q4_0), op,
       std::string(role) + " has unsupported type " + (t.empty() ? "none" : t.shape()));
}

// A KV cache: a float type or Q8_0 (rows of 32-value blocks; every head a whole number of blocks).
bool is_cache_type(DType t) { return is_float(t) || t == DType::Q8_0; }

}  // namespace

std::atomic<uint64_t> Graph::next_id_{1};

const char* op_name(Op op) {
  switch (op) {
    case Op::MatMul: return "matmul";
    case Op::RmsNorm: return "rmsnorm";
    case Op::Rope: return "rope";
    case Op::Attention: return "attention";
    case Op::SiluMul: return "silu_mul";
    case Op::Gelu: return "gelu";
    case Op::Embed: return "embed";
    case Op::SetRows: return "set_rows";
    case Op::Copy: return "copy";
    case Op::Sample: return "sample";
    case Op::AddI32: return "add_i32";
    case Op::CancelPoint: return "cancel_point";
  }
  return "?";
}

Graph::Graph(bool reusable) : id_(next_id_.fetch_add(1)), reusable_(reusable) {}

Node& Graph::push(Op op, const Tensor& dst) {
  Node& n = nodes_.emplace_back();
  n.op = op;
  n.dst = dst;
  return n;
}

void Graph::matmul(const Tensor& y, const Tensor& x, const Tensor& w, const Tensor& bias, bool accumulate) {
  const Op op = Op::MatMul;
  need_f32(y, op, "output");
  need_f32(x, op, "input");
  need_matrix(w, op, "weight");
  need(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows, op,
       "y " + y.shape() + " = x " + x.shape() + " @ w " + w.shape() + "^T does not fit");
  if (!bias.empty()) {
    need_weight(bias, op, "bias");
    need(bias.rows == 1 && bias.cols == w.rows, op, "bias " + bias.shape() + " must be [1, " + std::to_string(w.rows) + "]");
  }
  Node& n = push(op, y);
  n.src[0] = x;
  n.src[1] = w;
  n.src[2] = bias;
  n.accumulate = accumulate;
}

void Graph::rmsnorm(const Tensor& y, const Tensor& x, const Tensor& w, float eps) {
  const Op op = Op::RmsNorm;
  need_f32(y, op, "output");
  need_f32(x, op, "input");
  need_weight(w, op, "weight");
  need(y.rows == x.rows && y.cols == x.cols && w.rows == 1 && w.cols == x.cols, op,
       "y " + y.shape() + ", x " + x.shape() + ", w " + w.shape() + " disagree");
  Node& n = push(op, y);
  n.src[0] = x;
  n.src[1] = w;
  n.eps = eps;
}

void Graph::rope(const Tensor& x, const Tensor& table, const Tensor& positions, int heads, int head_dim,
                 RopePairing pairing) {
  const Op op = Op::Rope;
  need_f32(x, op, "x");
  need_f32(table, op, "table");
  need(heads > 0 && head_dim > 0 && head_dim % 2 == 0 && x.cols == static_cast<int64_t>(heads) * head_dim, op,
       "x " + x.shape() + " is not [T, " + std::to_string(heads) + " heads * " + std::to_string(head_dim) + "]");
  need(table.cols == head_dim, op, "table " + table.shape() + " must have head_dim columns (cos | sin)");
  need_i32_row(positions, x.rows, op, "positions");
  Node& n = push(op, x);
  n.src[0] = table;
  n.src[1] = positions;
  n.heads = heads;
  n.head_dim = head_dim;
  n.pairing = pairing;
}

void Graph::attention(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
                      int heads, int kv_heads, int head_dim) {
  const Op op = Op::Attention;
  need_f32(out, op, "output");
  need_f32(q, op, "q");
  need(heads > 0 && kv_heads > 0 && heads % kv_heads == 0 && head_dim > 0, op, "heads must be a multiple of kv heads");
  need(!k.empty() && !v.empty() && is_cache_type(k.dtype) && k.dtype == v.dtype, op,
       "k and v must share one float or q8_0 type");
  need(head_dim % dtype_traits(k.dtype).block == 0, op,
       std::string("a head of ") + std::to_string(head_dim) + " values is not a whole number of " + dtype_name(k.dtype) + " blocks");
  const int64_t qd = static_cast<int64_t>(heads) * head_dim, kvd = static_cast<int64_t>(kv_heads) * head_dim;
  need(q.cols == qd && out.cols == qd && out.rows == q.rows && k.cols == kvd && v.cols == kvd && v.rows == k.rows,
       op, "q " + q.shape() + ", k " + k.shape() + ", v " + v.shape() + ", out " + out.shape() + " disagree");
  if (!positions.empty()) need_i32_row(positions, q.rows, op, "positions");
  Node& n = push(op, out);
  n.src[0] = q;
  n.src[1] = k;
  n.src[2] = v;
  n.src[3] = positions;
  n.heads = heads;
  n.kv_heads = kv_heads;
  n.head_dim = head_dim;
}

void Graph::silu_mul(const Tensor& out, const Tensor& gate, const Tensor& up) {
  const Op op = Op::SiluMul;
  need_f32(out, op, "output");
  need_f32(gate, op, "gate");
  need_f32(up, op, "up");
  need(out.numel() == gate.numel() && up.numel() == gate.numel(), op, "gate, up and output differ in size");
  Node& n = push(op, out);
  n.src[0] = gate;
  n.src[1] = up;
}

void Graph::gelu(const Tensor& out, const Tensor& x) {
  const Op op = Op::Gelu;
  need_f32(out, op, "output");
  need_f32(x, op, "input");
  need(out.numel() == x.numel(), op, "input and output differ in size");
  push(op, out).src[0] = x;
}

void Graph::embed(const Tensor& y, const Tensor& table, const Tensor& ids) {
  const Op op = Op::Embed;
  need_f32(y, op, "output");
  need_matrix(table, op, "table");
  need(y.cols == table.cols, op, "output " + y.shape() + " and table " + table.shape() + " differ in width");
  need_i32_row(ids, y.rows, op, "ids");
  Node& n = push(op, y);
  n.src[0] = table;
  n.src[1] = ids;
}

void Graph::set_rows(const Tensor& dst, const Tensor& src, const Tensor& index) {
  const Op op = Op::SetRows;
  need(!dst.empty() && is_cache_type(dst.dtype), op, "destination must be a float or q8_0 tensor");
  need_f32(src, op, "source");
  need(dst.cols == src.cols, op, "source " + src.shape() + " and destination " + dst.shape() + " differ in width");
  need_i32_row(index, src.rows, op, "index");
  Node& n = push(op, dst);
  n.src[0] = src;
  n.src[1] = index;
}

void Graph::copy(const Tensor& dst, const Tensor& src) {
  const Op op = Op::Copy;
  need(!dst.empty() && !src.empty() && is_float(dst.dtype) && src.dtype == DType::F32, op,
       "copies f32 into a float tensor");
  need(dst.rows == src.rows && dst.cols == src.cols, op, src.shape() + " into " + dst.shape());
  push(op, dst).src[0] = src;
}

void Graph::sample(const Tensor& token, const Tensor& logits, const Tensor& state) {
  const Op op = Op::Sample;
  need_i32_row(token, 1, op, "token");
  need_f32(logits, op, "logits");
  need(logits.rows == 1 && logits.cols > 0, op, "logits must be one row");
  need_i32_row(state, kSamplerStateInts, op, "state");
  Node& n = push(op, token);
  n.src[0] = logits;
  n.src[1] = state;
}

void Graph::add_i32(const Tensor& x, int32_t step) {
  const Op op = Op::AddI32;
  need(!x.empty() && x.dtype == DType::I32, op, "adds to an i32 tensor");
  push(op, x).step = step;
}

void Graph::cancel_point() { push(Op::CancelPoint, Tensor{}); }

}  // namespace px
