module "a" {
  source = "./a"
}

module "itself" {
  source = "./"
}
