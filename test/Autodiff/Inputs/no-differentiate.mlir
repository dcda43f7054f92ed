func.func @f(%a: tensor<3xf64>) -> tensor<3xf64> {
  return %a : tensor<3xf64>
}
