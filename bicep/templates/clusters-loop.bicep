// Several Cloud HSM clusters from one loop, named with uniqueString so they
// are stable per group.

@minValue(1)
@maxValue(10)
param count int = 3

param prefix string = 'chsm'

var suffix = take(uniqueString(resourceGroup().id), 6)

resource clusters 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = [for i in range(0, count): {
  name: '${prefix}${i + 1}-${suffix}'
  location: resourceGroup().location
  sku: {
    family: 'B'
    name: 'Standard_B1'
  }
  tags: {
    index: string(i)
  }
}]

output names array = [for i in range(0, count): clusters[i].name]
