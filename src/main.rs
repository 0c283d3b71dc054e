fn main() {
    kling_tui::entry::main()
}
