environment    = "staging"
instance_count = 3
buckets = {
  logs = { versioned = false }
}
