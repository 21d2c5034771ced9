//! `cluebox-files`: the form's evidence files picker, loaded only when the form shows a files
//! field (`components::files`), so the form's first load does not carry it.

fn main() {
    cluebox_frontend::components::files::mount_all();
}
