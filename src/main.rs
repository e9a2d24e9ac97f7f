fn main() {
    std::process::exit(qhmp_main());
}

fn qhmp_main() -> i32 {
    match qhmp::grammar::Grammar::builtin() {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("qhmp: built-in grammar: {e}");
            2
        }
    }
}
