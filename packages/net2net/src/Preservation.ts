/** Net2Net measures function preservation with the shared module of @growlab/train (the same rule as every operator). */
export * from "@growlab/train/Preservation"
