//! `<<<image_N>>>` and `<<<video_N>>>` template references inside prompts.

/// One template reference found in a prompt, `index` as written (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptRef {
    Image(u32),
    Video(u32),
}

/// Every well-formed reference in `prompt`, in order of appearance.
pub fn prompt_references(prompt: &str) -> Vec<PromptRef> {
    let mut found = Vec::new();
    let mut rest = prompt;
    while let Some(start) = rest.find("<<<") {
        rest = &rest[start + 3..];
        let Some(end) = rest.find(">>>") else { break };
        let inner = &rest[..end];
        let parsed = if let Some(n) = inner.strip_prefix("image_") {
            n.parse().ok().map(PromptRef::Image)
        } else if let Some(n) = inner.strip_prefix("video_") {
            n.parse().ok().map(PromptRef::Video)
        } else {
            None
        };
        match parsed {
            Some(r) => {
                found.push(r);
                rest = &rest[end + 3..];
            }
            // Not a reference: look again from just after this "<<<".
            None => continue,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_in_order() {
        let refs = prompt_references("<<<image_2>>> meets <<<video_1>>> and <<<image_10>>>");
        assert_eq!(
            refs,
            vec![
                PromptRef::Image(2),
                PromptRef::Video(1),
                PromptRef::Image(10)
            ]
        );
    }

    #[test]
    fn ignores_malformed() {
        assert!(prompt_references("<<<image_x>>> <<<img_1>>> <<<image_3").is_empty());
        assert_eq!(
            prompt_references("<<<<<<image_1>>>"),
            vec![PromptRef::Image(1)]
        );
    }
}
