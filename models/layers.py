"""Small graph pieces shared by the models: a dense layer over tf.get_variable weights, and dropout."""
import tensorflow.compat.v1 as tf


def dense_variables(d_in, units):
    """kernel [d_in, units] (Glorot uniform) and bias [units] (zeros) in the current variable scope."""
    kernel = tf.get_variable("kernel", [d_in, units], initializer=tf.glorot_uniform_initializer())
    bias = tf.get_variable("bias", [units], initializer=tf.zeros_initializer())
    return kernel, bias


def dense(inputs, layer, activation=None):
    """A fully connected layer over the last axis.

    Args:
      inputs: [..., d_in] float32.
      layer: (kernel [d_in, units], bias [units]) from `dense_variables`.
      activation: applied to the result, or None.

    Returns:
      [..., units].
    """
    kernel, bias = layer
    d_in, units = kernel.shape.as_list()
    outputs = tf.matmul(tf.reshape(inputs, [-1, d_in]), kernel) + bias
    outputs = tf.reshape(outputs, tf.concat([tf.shape(inputs)[:-1], [units]], axis=0))
    return activation(outputs) if activation is not None else outputs


def dropout_if_training(x, rate, training):
    """Dropout with drop probability `rate` when `training` (a bool scalar tensor) is True, else identity.

    Args:
      x: any float32 tensor.
      rate: float in [0, 1); 0 builds no dropout op at all.
      training: bool [] tensor.

    Returns:
      a tensor of the shape of x.
    """
    if not rate:
        return x
    return tf.cond(training, lambda: tf.nn.dropout(x, rate=rate), lambda: x)
