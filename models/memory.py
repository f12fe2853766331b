"""The value-memory recurrence of DKVMN (Zhang et al. 2017, eqs. 2-3 and 7-9): the only sequential part.

Everything else in DKVMN (key embedding k_t, correlation weight w_t, erase e_t, add a_t, and the output
layers) depends on the input alone, so models/dkvmn.py computes it for all t at once; this module takes those
tensors and runs the one recurrence that cannot be vectorised over time:

    read:   r_t = sum_i w_t(i) M_t(i)                                   (M_t: the memory *before* step t)
    write:  M_{t+1}(i) = M_t(i) * (1 - w_t(i) e_t) + w_t(i) a_t

Two formulations of the same equations live here:

- `value_memory_reads_reference`: the plain one, a `tf.scan` over time differentiated by TensorFlow. It is
  the readable definition and what the tests compare against. It is slow to train: autodiff through the
  scan keeps every intermediate of every step and replays them one small op at a time (docs/speed.md).
- `value_memory_reads`: the fast one that the model uses. Same inputs, same outputs, same gradients (up
  to float rounding); see its docstring for how and why it is restructured.
"""
import tensorflow.compat.v1 as tf


def write(memory, w_t, e_t, a_t):
    """One write (paper eqs. 7-9): M_{t+1}(i) = M_t(i) * (1 - w_t(i) e_t) + w_t(i) a_t.

    Args:
      memory: [B, N, d_v] M_t.
      w_t: [B, N] correlation weights; e_t, a_t: [B, d_v] erase and add vectors.

    Returns:
      [B, N, d_v] M_{t+1}.
    """
    w_col = w_t[:, :, None]
    return memory * (1.0 - w_col * e_t[:, None, :]) + w_col * a_t[:, None, :]


def value_memory_after_each_step(w, e, a, initial_value_memory):
    """M_{t+1} for every t: [B, T, N, d_v], the value memory after the write of step t (for the knowledge
    state; training uses `value_memory_reads`, which never materialises it)."""
    batch_size = tf.shape(w)[0]
    memory = tf.tile(initial_value_memory[None], [batch_size, 1, 1])              # [B, N, d_v]
    time_major = [tf.transpose(x, [1, 0, 2]) for x in (w, e, a)]
    memories = tf.scan(lambda memory, inputs: write(memory, *inputs), time_major, initializer=memory)
    return tf.transpose(memories, [1, 0, 2, 3])                                     # [B, T, N, d_v]


def value_memory_reads_reference(w, e, a, initial_value_memory):
    """Plain step-by-step formulation of the read/write recurrence (the readable reference).

    Args:
      w: [B, T, N] correlation weights (softmax over the N slots).
      e: [B, T, d_v] erase vectors, in (0, 1).
      a: [B, T, d_v] add vectors, in (-1, 1).
      initial_value_memory: [N, d_v] M^v_0, shared by every sequence of the batch.

    Returns:
      r: [B, T, d_v], the read content r_t of the memory *before* the write of step t.
    """
    batch_size = tf.shape(w)[0]
    memory = tf.tile(initial_value_memory[None], [batch_size, 1, 1])  # [B, N, d_v]
    time_major = [tf.transpose(x, [1, 0, 2]) for x in (w, e, a)]       # [T, B, ...]

    def step(carry, inputs):
        memory, _ = carry
        w_t, e_t, a_t = inputs
        read = tf.einsum("bn,bnd->bd", w_t, memory)
        return write(memory, w_t, e_t, a_t), read

    initial_read = tf.zeros_like(time_major[2][0])
    _, reads = tf.scan(step, time_major, initializer=(memory, initial_read))
    return tf.transpose(reads, [1, 0, 2])


def value_memory_reads(w, e, a, initial_value_memory, batch_parts=1):
    """Runs the read/write recurrence of the value memory over time, with a hand-written gradient.

    Same contract as `value_memory_reads_reference` (shapes below); the result and its gradients with
    respect to all four inputs are the same up to float rounding.

    Args:
      w: [B, T, N] correlation weights (softmax over the N slots).
      e: [B, T, d_v] erase vectors, in (0, 1).
      a: [B, T, d_v] add vectors, in (-1, 1).
      initial_value_memory: [N, d_v] M_0, shared by every sequence of the batch (a tensor or a variable).
      batch_parts: the batch is cut into this many contiguous parts, each run as its own pair of loops
        (see below). 1 runs the whole batch in one loop. The result does not depend on it.

    Returns:
      r: [B, T, d_v], the read content r_t of the memory *before* the write of step t.

    How it is restructured, and why it is faster:

    1. Forward: one `tf.while_loop` over t that reads r_t from M_t, keeps M_t in a TensorArray (the
       backward needs it) and writes M_{t+1} = M_t + w_t (a_t - e_t ⊙ M_t)^T (the paper's write, with the
       product expanded so that it is three elementwise ops instead of five). Storing M_t costs
       B*T*N*d_v floats (100 MB at B 32, T 200, N 20, d_v 200). Recomputing M_t backwards by inverting the
       write would divide by (1 - w_t(i) e_t), which can be ~0: numerically unstable, so it is not done.

    2. Backward, written by hand (`tf.custom_gradient`) instead of TensorFlow's autodiff through the
       loop. With g_t = dL/dr_t, G_t = dL/dM_t (per sequence, [N, d_v]) and G_T = 0, differentiating the
       read and the write of step t gives a linear recurrence that runs in reverse time:

           G_t       = G_{t+1} ⊙ (1 - w_t e_t^T) + w_t g_t^T
           dL/dw_t(i) = <M_t(i), g_t> + <G_{t+1}(i), a_t - e_t ⊙ M_t(i)>
           dL/de_t    = - sum_i w_t(i) G_{t+1}(i) ⊙ M_t(i)
           dL/da_t    =   sum_i w_t(i) G_{t+1}(i)
           dL/dM_0    = G_0, summed over the batch (M_0 is shared by every sequence)

       (the w g^T term is the read's contribution to dL/dM_t; the other terms are the write's). One
       backward `tf.while_loop` runs t = T-1 .. 0, carries G and emits dw_t, de_t, da_t per step. With
       X = g_t - e_t ⊙ G_{t+1} (per slot), the first two lines are G_t = G_{t+1} + w_t X^T and
       dL/dw_t(i) = <M_t(i), X(i)> + <G_{t+1}(i), a_t>, which shares X between them; the last two
       lines share w_t(i) G_{t+1}(i).

    3. Every per-step contraction over the N slots or the d_v units is a broadcast multiply and a
       reduce_sum, not a batched matmul ([B, 1, N] x [B, N, d_v] and the like): with TF 2.x's default
       oneDNN kernels a batched matmul of such tiny matrices costs several times a multiply-and-sum over
       the same [B, N, d_v] elements (docs/speed.md), and the loops run 4 of them per step. The inputs
       are sliced per step out of the batch-major tensors (no transposes to time-major, no TensorArray
       copies of w, e, a, g).

    4. The sequences of a batch are independent, so the batch can be cut into `batch_parts` parts, each
       with its own forward and backward loop, which TF's inter-op threads run at the same time. A step
       of one loop is a handful of elementwise ops on [B, N, d_v] (512 KB at the paper's d_v 200), too
       small for two threads to share well, so two loops, one per core, are faster on a quiet 2-core
       machine; on a machine busy with other jobs one loop is, as two loops stall on each other's
       preempted threads (timings: docs/speed.md).
       The model takes main.py's BATCH_PARTS (2); this function's own default stays 1 (one loop).

    Everything that does not depend on the memory (k_t, w_t, e_t, a_t before, the output layers after)
    stays outside, computed for all t at once by the caller.
    """
    initial_value_memory = tf.convert_to_tensor(initial_value_memory)
    w, e, a = [tf.convert_to_tensor(x, dtype=initial_value_memory.dtype) for x in (w, e, a)]
    if batch_parts <= 1:
        return _memory_loops(w, e, a, initial_value_memory)
    reads = [_memory_loops(w_k, e_k, a_k, initial_value_memory)
             for w_k, e_k, a_k in _batch_parts([w, e, a], batch_parts)]
    return tf.concat(reads, axis=0)


def value_memory_reads_carried(w, e, a, initial_memories, batch_parts=1):
    """`value_memory_reads` from a memory of each row's own, also returning the memory after the last step:
    what training with the state carried over SEQ_LEN chunks runs (one chunk per row, each starting where
    its student's previous chunk ended).

    Args:
      w, e, a: as in `value_memory_reads`.
      initial_memories: [B, N, d_v] M_0 of each row. Its gradient is G_0 of each row (not summed).
      batch_parts: as in `value_memory_reads`.

    Returns:
      (r [B, T, d_v], M_T [B, N, d_v]: the memory after the write of step T-1). M_T is not differentiated
      (tf.stop_gradient): the next chunk gets it as a value, which is truncated backpropagation through
      time, the gradient of a chunk's loss stopping at the chunk's first position.
    """
    initial_memories = tf.convert_to_tensor(initial_memories)
    w, e, a = [tf.convert_to_tensor(x, dtype=initial_memories.dtype) for x in (w, e, a)]
    parts = [(w, e, a, initial_memories)] if batch_parts <= 1 else \
        _batch_parts([w, e, a, initial_memories], batch_parts)
    outputs = [_carried_memory_loops(*part) for part in parts]
    reads, finals = [tf.concat(list(column), axis=0) for column in zip(*outputs)]
    return reads, tf.stop_gradient(finals)


def _batch_parts(tensors, batch_parts):
    """[(part k of each of `tensors`)] for k < batch_parts, cut along the batch."""
    batch_size = tf.shape(tensors[0])[0]
    # Part k holds rows [k*B/parts, (k+1)*B/parts); with B < parts some parts are empty, which is fine.
    # tf.split rather than slicing: its gradient is a concat (a strided slice's is a slow scatter).
    bounds = [(batch_size * k) // batch_parts for k in range(batch_parts + 1)]
    sizes = tf.stack([hi - lo for lo, hi in zip(bounds[:-1], bounds[1:])])
    return list(zip(*[tf.split(x, sizes, num=batch_parts, axis=0) for x in tensors]))


@tf.custom_gradient
def _memory_loops(w, e, a, initial_value_memory):
    """The forward loop for one part of the batch; returns (r, the hand-written gradient function)."""
    memory_0 = tf.tile(initial_value_memory[None], tf.stack([tf.shape(w)[0], 1, 1]))  # [B, N, d_v]
    r, _, grad = _loops(w, e, a, memory_0)

    def shared_grad(dr):
        dw, de, da, dm_0 = grad(dr)
        return dw, de, da, tf.reduce_sum(dm_0, axis=0)  # M_0 is shared by every sequence
    return r, shared_grad


@tf.custom_gradient
def _carried_memory_loops(w, e, a, memory_0):
    """The forward loop from each row's own memory_0 [B, N, d_v]; returns ((r, M_T), the gradient function),
    which takes no gradient from M_T (value_memory_reads_carried stops it)."""
    r, final_memory, grad = _loops(w, e, a, memory_0)

    def carried_grad(dr, unused_d_final_memory):
        return grad(dr)
    return (r, final_memory), carried_grad


def _loops(w, e, a, memory_0):
    """The forward loop from memory_0 [B, N, d_v]: (r, M_T, grad); grad(dr) -> (dw, de, da, dM_0 [B, N, d_v])
    (dM_0 = G_0 of each row)."""
    dtype = w.dtype
    num_steps = tf.shape(w)[1]
    # The broadcast axes, added once (a reshape, no copy); each step slices its [B, ...] row out of these
    # batch-major tensors, so nothing is transposed to time-major or copied into TensorArrays first.
    w_col = w[:, :, :, None]   # [B, T, N, 1]
    e_row = e[:, :, None, :]   # [B, T, 1, d_v]
    a_row = a[:, :, None, :]   # [B, T, 1, d_v]

    def forward_step(t, memory, reads, memories):
        w_t = w_col[:, t]
        reads = reads.write(t, tf.reduce_sum(w_t * memory, axis=1))          # r_t: [B, d_v]
        memories = memories.write(t, memory)                                   # keep M_t for the backward
        memory = memory + w_t * (a_row[:, t] - e_row[:, t] * memory)          # M_{t+1}
        return t + 1, memory, reads, memories

    _, final_memory, reads, memories = tf.while_loop(
        lambda t, *_: t < num_steps, forward_step,
        (tf.constant(0), memory_0,
         tf.TensorArray(dtype, size=num_steps),
         tf.TensorArray(dtype, size=num_steps, clear_after_read=False)),
        back_prop=False)
    r = tf.transpose(reads.stack(), [1, 0, 2])                               # [B, T, d_v]
    # The gradient function keeps only tensors, not TensorArray objects: TF 1.14 holds it (and what it
    # refers to) until exit, where TensorArray wrappers log errors. Its TensorArray is rebuilt from
    # these tensors (M_t is not copied: the handle and flow refer to the stored array).
    memories_handle, memories_flow = memories.handle, memories.flow

    def grad(dr):
        memories = tf.TensorArray(dtype, handle=memories_handle, flow=memories_flow)
        g_row = dr[:, :, None, :]                                              # g_t: [B, T, 1, d_v]

        def backward_step(t, mem_grad, dws, minus_des, das):
            # mem_grad is G_{t+1} on entry and G_t on exit; memory is M_t.
            memory, w_t = memories.read(t), w_col[:, t]
            weighted = w_t * mem_grad                                          # w_t(i) G_{t+1}(i)
            x = g_row[:, t] - e_row[:, t] * mem_grad                           # g_t - e_t ⊙ G_{t+1}(i)
            dws = dws.write(t, tf.reduce_sum(memory * x + mem_grad * a_row[:, t], axis=2))   # [B, N]
            minus_des = minus_des.write(t, tf.reduce_sum(weighted * memory, axis=1))       # [B, d_v]
            das = das.write(t, tf.reduce_sum(weighted, axis=1))                            # [B, d_v]
            return t - 1, mem_grad + w_t * x, dws, minus_des, das

        _, mem_grad_0, dws, minus_des, das = tf.while_loop(
            lambda t, *_: t >= 0, backward_step,
            (num_steps - 1, tf.zeros_like(memory_0),
             tf.TensorArray(dtype, size=num_steps),
             tf.TensorArray(dtype, size=num_steps),
             tf.TensorArray(dtype, size=num_steps)),
            back_prop=False)
        dw = tf.transpose(dws.stack(), [1, 0, 2])
        de = -tf.transpose(minus_des.stack(), [1, 0, 2])
        da = tf.transpose(das.stack(), [1, 0, 2])
        return dw, de, da, mem_grad_0

    return r, final_memory, grad
