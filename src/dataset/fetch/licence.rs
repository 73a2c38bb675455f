//! A dataset's licence, and the notice printed before anything is downloaded.

use serde::Serialize;

/// The terms a dataset is published under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Licence {
    /// The short name, e.g. `CC BY-NC 4.0`.
    pub name: &'static str,
    pub url: &'static str,
    /// Whether it forbids commercial use: such a licence must be accepted explicitly.
    pub non_commercial: bool,
}

pub(crate) const CC_BY: Licence = Licence {
    name: "CC BY 4.0",
    url: "https://creativecommons.org/licenses/by/4.0/",
    non_commercial: false,
};

pub(crate) const CC_BY_NC: Licence = Licence {
    name: "CC BY-NC 4.0",
    url: "https://creativecommons.org/licenses/by-nc/4.0/",
    non_commercial: true,
};

pub(crate) const CC_BY_NC_SA: Licence = Licence {
    name: "CC BY-NC-SA 4.0",
    url: "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    non_commercial: true,
};

/// The notice shown before a download: what the data is, its terms, how to cite it.
pub fn licence_notice(dataset: &super::Dataset) -> String {
    let licence = dataset.licence;
    let mut text = format!(
        "{title}\n  source:   {page}\n  licence:  {name} ({url})\n",
        title = dataset.title,
        page = dataset.page,
        name = licence.name,
        url = licence.url,
    );
    if licence.non_commercial {
        text.push_str("            non-commercial use only: no commercial use of the data or of what is derived from it\n");
    } else {
        text.push_str("            commercial use allowed with attribution\n");
    }
    text.push_str(&format!("  cite:     {}\n", dataset.citation));
    text
}
