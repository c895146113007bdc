// filled in by the targets/header work
