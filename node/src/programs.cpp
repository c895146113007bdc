// placeholder: filled in during issue 5
