fn main() {
    std::process::exit(qhmp::cli::main().code());
}
